// Source positions that are safely in the spool, persisted in <data_dir>/checkpoints
// (logship.agent.v1.Checkpoints, replaced atomically). Loop thread only.
//
// File positions are keyed by (source key, device, inode): two sources tailing the same file
// keep two positions. A position whose source is no longer configured (renamed, or sources
// reordered so default names moved) is an orphan: the first source that meets the file adopts
// it, so a rename does not read everything again. A released file (rotated away or deleted, read to its end) stays as a
// tombstone for kTombstoneLifetime, so a new file that reuses its inode starts at the next
// generation; then it is dropped, so the store holds only what is tailed (plus a day of
// tombstones).
//
// Disk full: acked spool segments may only be deleted once a checkpoint covering them is
// saved, and saving needs a little space. So the store keeps a ballast file
// (<path>.reserve, at least 64 KiB and twice the checkpoint size): when a save fails, the
// ballast is given up and the save retried, which lets the spool free its segments; the
// ballast is laid down again after a later save, when there is room.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <tuple>

#include "common/status.h"
#include "logship/agent/v1/checkpoint.pb.h"

namespace logship::agent {

class CheckpointStore {
 public:
  static constexpr std::chrono::hours kTombstoneLifetime{24};

  explicit CheckpointStore(std::string path) : path_(std::move(path)), reserve_path_(path_ + ".reserve") {}

  // Reads the file (a missing file is an empty store; Corruption if it cannot be parsed)
  // and lays down the ballast.
  Status Load();
  // True when the data_dir was never used before (no checkpoint file, no spooled frame):
  // the one start at which `start_at` applies. Initialize() ends it.
  bool fresh() const { return initialized_unix_nano_ == 0; }
  // Marks the data_dir as used from `now_unix_nano` on (the caller saves).
  void Initialize(int64_t now_unix_nano) { initialized_unix_nano_ = now_unix_nano; }
  int64_t initialized_unix_nano() const { return initialized_unix_nano_; }

  // The keys of the file sources configured now; positions of other keys are orphans. Set it
  // before Load (or call it again after).
  void SetActiveSources(std::set<std::string> keys);
  // Merges positions (a spool frame's meta delta); later positions replace earlier ones, and
  // an orphan position of the same file is adopted (dropped).
  void Apply(const v1::Checkpoints& delta);
  // Writes every position, stamped with the last spool sequence they cover. Tombstones
  // older than kTombstoneLifetime are dropped first.
  Status Save(uint64_t spool_sequence, bool sync);

  uint64_t spool_sequence() const { return spool_sequence_; }
  // The position of the file with this on-disk identity for `source`, else an orphan
  // position of it, if any (a tombstone has released_unix_nano set).
  const v1::FileCheckpoint* FindFile(const std::string& source, uint64_t device, uint64_t inode) const;
  // Every live (not released) position of `source`, and every live orphan position.
  void ForEachFile(const std::string& source, const std::function<void(const v1::FileCheckpoint&)>& fn) const;
  // The cursor a journald source stopped at, or nullptr.
  const std::string* FindJournal(const std::string& key) const;
  size_t size() const { return files_.size() + journals_.size(); }

 private:
  using FileKey = std::tuple<std::string, uint64_t, uint64_t>;  // (source, device, inode)
  // Makes the ballast at least `bytes` long; best effort (a full disk just leaves it short).
  void EnsureReserve(size_t bytes);
  bool Orphan(const std::string& source) const { return !active_.count(source); }

  std::string path_;
  std::string reserve_path_;
  size_t reserve_bytes_ = 0;  // what the ballast holds now
  uint64_t spool_sequence_ = 0;
  int64_t initialized_unix_nano_ = 0;
  std::map<FileKey, v1::FileCheckpoint> files_;
  std::map<std::string, std::string> journals_;  // key → cursor
  std::set<std::string> active_;
  size_t orphans_ = 0;  // entries whose source is not active (so the common Apply skips the scan)
};

}  // namespace logship::agent
