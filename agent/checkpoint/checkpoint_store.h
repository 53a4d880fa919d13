// Source positions that are safely in the spool, persisted in <data_dir>/checkpoints
// (logship.agent.v1.Checkpoints, replaced atomically). Loop thread only.
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
  explicit CheckpointStore(std::string path) : path_(std::move(path)) {}

  // Reads the file; a missing file is an empty store. Corruption if it cannot be parsed.
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
  std::string path_;
  uint64_t spool_sequence_ = 0;
  std::map<std::pair<uint64_t, uint64_t>, v1::FileCheckpoint> files_;  // by (device, inode)
  std::map<std::string, std::string> journals_;                        // key → cursor
};

}  // namespace logship::agent
