// `type: file` source: tails every file matching the include globs (minus excludes).
//
// Change detection: an inotify watch (uv_fs_event) on each directory holding a tailed file
// marks files ready; a timer every poll_interval rescans the globs and stats every open
// file, catching what inotify missed (network filesystems, overflow). While every directory
// involved is watched, that full sweep runs on every 10th tick only (it was most of an idle
// agent's CPU with 1,000 files); rotated files are still looked at on every tick. Ready
// files are read from an idle handle with a per-turn budget so one busy file cannot starve
// the rest.
//
// Rotation: when a path no longer names the open file (renamed or deleted), the open
// descriptor is read to its end and released once it has not grown for rotate_wait; the new file at the path is a new
// input read from its start. A file that shrinks below the read offset was truncated in
// place (copytruncate) and is read again from 0 under its new fingerprint.
//
// Multiline: with `multiline.start_pattern`, continuation lines join the event begun by
// the last start line; a pending event is flushed after `multiline.timeout` without new
// lines, and when its file is released.
//
// Loop thread only.
#pragma once

#include <uv.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "agent/agent_config.h"
#include "agent/checkpoint/checkpoint_store.h"
#include "agent/sources/file/file_tailer.h"
#include "agent/sources/source.h"
#include "agent/uv_handle.h"

namespace logship::agent {

class FileSource final : public Source {
 public:
  // `checkpoints` must outlive the source; it is only read.
  FileSource(uv_loop_t* loop, FileSourceConfig config, const CheckpointStore& checkpoints);
  ~FileSource() override;

  Status Start(Emitter& emitter) override;
  void Pause() override;
  void Resume() override;
  void Stop() override;

  size_t open_files() const { return files_.size(); }

 private:
  using FileKey = std::pair<uint64_t, uint64_t>;  // (device, inode)
  struct Tracked {
    std::unique_ptr<FileTailer> tailer;
    bool present_at_start = false;  // start_at applies only to these
    bool detached = false;          // its path now names another file, or none
    std::chrono::steady_clock::time_point detached_at;
    bool positioned = false;
    uint64_t last_size = 0;         // at the previous poll, to notice in-place rewrites
  };

  void Scan(bool initial);
  // Paths matching one include pattern; "**" matches any number of directories.
  std::vector<std::string> Expand(const std::string& pattern);
  void FlushIdleEvents();
  void Reset(Tracked& t, const char* why);
  void Poll();
  // Every include pattern's directory part is literal and watched (so inotify sees new files).
  bool GlobsWatched() const;
  void Track(const std::string& path, bool initial);
  void Position(Tracked& t);
  void WatchDirectory(const std::string& dir);
  void OnDirectoryEvent(const std::string& dir, const char* filename);
  void MarkReady(const FileKey& key);
  void Drain();
  void UpdateIdle();
  bool Excluded(const std::string& path) const;

  uv_loop_t* loop_;
  const FileSourceConfig config_;
  const CheckpointStore& checkpoints_;
  TailerOptions tailer_options_;
  Emitter* emitter_ = nullptr;
  bool paused_ = false;
  bool stopped_ = false;
  bool rescan_wanted_ = false;

  std::map<FileKey, Tracked> files_;
  std::map<std::string, FileKey> by_path_;  // the file each path currently names
  std::set<std::string> skipped_;  // matched paths that cannot be tailed, warned about once
  std::set<FileKey> ready_;
  std::map<std::string, std::unique_ptr<UvHandle<uv_fs_event_t>>> dir_watches_;
  std::vector<std::string> pattern_dirs_;  // per include pattern: its literal directory, or ""
  uint64_t polls_ = 0;
  UvHandle<uv_timer_t> poll_timer_;
  UvHandle<uv_timer_t> multiline_timer_;
  UvHandle<uv_idle_t> drain_idle_;
};

}  // namespace logship::agent
