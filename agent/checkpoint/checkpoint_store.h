// Source positions that are safely in the spool, persisted in <data_dir>/checkpoints
// (logship.agent.v1.Checkpoints, replaced atomically). Loop thread only.
//
// Disk full: acked spool segments may only be deleted once a checkpoint covering them is
// saved, and saving needs a little space. So the store keeps a ballast file
// (<path>.reserve, at least 64 KiB and twice the checkpoint size): when a save fails, the
// ballast is given up and the save retried, which lets the spool free its segments; the
// ballast is laid down again after a later save, when there is room.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>

#include "common/status.h"
#include "logship/agent/v1/checkpoint.pb.h"

namespace logship::agent {

class CheckpointStore {
 public:
  explicit CheckpointStore(std::string path) : path_(std::move(path)), reserve_path_(path_ + ".reserve") {}

  // Reads the file (a missing file is an empty store; Corruption if it cannot be parsed)
  // and lays down the ballast.
  Status Load();
  // Merges positions (a spool frame's meta delta); later positions replace earlier ones.
  void Apply(const v1::Checkpoints& delta);
  // Writes every position, stamped with the last spool sequence they cover.
  Status Save(uint64_t spool_sequence, bool sync);

  uint64_t spool_sequence() const { return spool_sequence_; }
  // The checkpoint of the file with this on-disk identity, if any.
  const v1::FileCheckpoint* FindFile(uint64_t device, uint64_t inode) const;
  // The cursor a journald source stopped at, or nullptr.
  const std::string* FindJournal(const std::string& key) const;
  size_t size() const { return files_.size() + journals_.size(); }

 private:
  // Makes the ballast at least `bytes` long; best effort (a full disk just leaves it short).
  void EnsureReserve(size_t bytes);

  std::string path_;
  std::string reserve_path_;
  size_t reserve_bytes_ = 0;  // what the ballast holds now
  uint64_t spool_sequence_ = 0;
  std::map<std::pair<uint64_t, uint64_t>, v1::FileCheckpoint> files_;  // by (device, inode)
  std::map<std::string, std::string> journals_;                        // key → cursor
};

}  // namespace logship::agent
