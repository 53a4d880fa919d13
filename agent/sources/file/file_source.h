// `type: file` source: tails every file matching the include globs (minus excludes).
//
// Change detection: an inotify watch (uv_fs_event) on each directory holding a tailed file
// marks files ready; a timer every poll_interval rescans the globs and stats every open
// file, catching what inotify missed (network filesystems, overflow). While every directory
// involved is watched, that full sweep runs on every 10th tick only (it was most of an idle
// agent's CPU with 1,000 files); rotated files are still looked at on every tick. Ready
// files are read from an idle handle with a per-turn budget so one busy file cannot starve
// the rest. A watch on a directory that no longer holds a tailed file (and is no pattern's)
// is dropped.
//
// Where reading starts (README "File source behaviour"):
// - `start_at` applies only at the data_dir's very first start: with `end`, the lines a file
//   holds then are history and are skipped (a file empty then is read from 0). The skipped
//   position is checkpointed, so a restart does not ship that history either.
// - Otherwise a file resumes at its checkpoint, and a file without one (new, rotated in
//   while the agent was down, or added by a reload) is read from its start.
// - A checkpointed file whose first line, size or last read bytes no longer match was
//   truncated or rewritten: its new content is read from 0 as the next generation (new ids).
//
// Rotation: when a path no longer names the open file (renamed or deleted), the open
// descriptor is read to its end and released once it has not grown for rotate_wait; the new
// file at the path is a new input read from its start. A file rotated while the agent was
// down is found by its inode in its old directory and finished the same way. A released
// file's pending multi-line event and unterminated last line are emitted, and its position
// becomes a tombstone (FileState).
//
// copytruncate: a file that shrinks below the read offset (or whose content before it
// changed) is read again from 0 as the next generation, after its pending lines are emitted.
//
// Loop thread only.
#pragma once

#include <sys/stat.h>
#include <uv.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "agent/checkpoint/checkpoint_store.h"
#include "agent/sources/file/file_config.h"
#include "agent/sources/file/file_positions.h"
#include "agent/sources/file/file_state.h"
#include "agent/sources/file/file_tailer.h"
#include "agent/sources/source_plugin.h"
#include "agent/uv_handle.h"

namespace logship::agent {

class FileSource final : public Source {
 public:
  // Reads its positions from the context's checkpoint store (FileState); positions that
  // move go through the emitter.
  FileSource(const FileSourceConfig& config, const SourceContext& context);
  ~FileSource() override;

  Status Start(Emitter& emitter) override;
  void Pause() override;
  void Resume() override;
  void Stop() override;

  // Any thread (metrics): as of the last poll.
  size_t open_files() const { return open_files_.load(); }
  size_t watched_directories() const { return watched_directories_.load(); }

 private:
  using FileKey = std::pair<uint64_t, uint64_t>;  // (device, inode)
  struct Tracked {
    std::unique_ptr<FileTailer> tailer;
    // Fresh data_dir, start_at: end: where the file's history ends (after its last complete
    // line when first seen); reading starts there once the file is identified.
    std::optional<uint64_t> history_end;
    bool restart_at_zero = false;   // truncated or rewritten: the next generation, from 0
    bool detached = false;          // its path now names another file, or none
    std::chrono::steady_clock::time_point detached_at;
    bool positioned = false;
    // Not identifiable yet (empty, or its first line unfinished): its inode is checkpointed at
    // offset 0 anyway, so a crash and a rotation while down cannot hide what is written next.
    bool placeholder_saved = false;
    uint64_t last_size = 0;         // at the previous poll, to notice in-place rewrites
  };

  void Scan(bool initial);
  // Paths matching one include pattern; "**" matches any number of directories.
  std::vector<std::string> Expand(const std::string& pattern);
  // Finishes files that were rotated away while the agent was down (found by inode in the
  // directory they were read in); forgets positions of files that are gone.
  void RecoverRotated();
  void FlushIdleEvents();
  void Reset(Tracked& t, const char* why);
  void Release(std::map<FileKey, Tracked>::iterator it);
  void Poll();
  // Every include pattern's directory part is literal and watched (so inotify sees new files).
  bool GlobsWatched() const;
  void Track(const std::string& path, bool initial);
  void Position(Tracked& t);
  // A position that moves without a record: checkpointed in order with the records.
  // first_sight: the file has no checkpoint yet (Emitter::ApplyNow); else in order.
  void RecordPosition(const FileTailer& f, uint64_t offset, std::string tail, int64_t released_unix_nano,
                      bool first_sight = false);
  void WatchDirectory(const std::string& dir);
  // Drops the watch on `dir` unless a tailed file or an include pattern still needs it.
  void PruneWatch(const std::string& dir);
  void OnDirectoryEvent(const std::string& dir, const char* filename);
  void MarkReady(const FileKey& key);
  void Drain();
  void UpdateIdle();
  bool Excluded(const std::string& path) const;
  // `path` is one this source's patterns name (and no exclude does).
  bool Matches(const std::string& path) const;
  // Why `path` (stat `st`) must not be followed without follow_symlinks: a symbolic link, a
  // directory reached through one below the patterns' literal directories, or a hard link to
  // another user's file; "" when it is fine.
  std::string Untrusted(const std::string& path, const struct stat& st) const;

  uv_loop_t* loop_;
  const FileSourceConfig config_;
  const std::string key_;           // config_.Key()
  const CheckpointStore& checkpoints_;
  const FileState& state_;          // positions saved so far (merged as frames are spooled)
  FilePositions positions_;         // positions moved since the flow last took them
  TailerOptions tailer_options_;
  Emitter* emitter_ = nullptr;
  bool paused_ = false;
  bool stopped_ = false;
  bool rescan_wanted_ = false;
  bool first_start_ = false;  // the data_dir's very first start: start_at applies

  std::map<FileKey, Tracked> files_;
  std::map<std::string, FileKey> by_path_;  // the file each path currently names
  std::set<std::string> skipped_;  // matched paths that cannot be tailed, warned about once
  std::set<FileKey> ready_;
  std::map<std::string, std::unique_ptr<UvHandle<uv_fs_event_t>>> dir_watches_;
  std::vector<std::string> pattern_dirs_;  // per include pattern: its literal directory, or ""
  std::vector<std::string> tree_roots_;    // per "**" pattern: the directory its walk starts at
  std::vector<std::string> literal_prefixes_;  // per pattern: its directories before any wildcard
  uint64_t polls_ = 0;
  std::atomic<size_t> open_files_{0}, watched_directories_{0};
  UvHandle<uv_timer_t> poll_timer_;
  UvHandle<uv_timer_t> multiline_timer_;
  UvHandle<uv_idle_t> drain_idle_;
};

}  // namespace logship::agent
