// Source positions that are safely in the spool, persisted in <data_dir>/checkpoints
// (logship.agent.v1.Checkpoints, replaced atomically). Loop thread only.
//
// The store knows no plugin: it keeps one SourceState per source plugin type, merges the
// deltas spool frames carry into it, and saves each state in the plugin's own encoding. What a
// position is (a file offset, a journal cursor, a sequence) is the plugin's business.
//
// Disk full: acked spool segments may only be deleted once a checkpoint covering them is
// saved, and saving needs a little space. So the store keeps a ballast file
// (<path>.reserve, at least 64 KiB and twice the checkpoint size): when a save fails, the
// ballast is given up and the save retried, which lets the spool free its segments; the
// ballast is laid down again after a later save, when there is room.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "agent/checkpoint/source_state.h"
#include "common/status.h"
#include "logship/agent/v1/checkpoint.pb.h"

namespace logship::agent {

class CheckpointStore {
 public:
  CheckpointStore(std::string path, SourceStateTypes types)
      : path_(std::move(path)), reserve_path_(path_ + ".reserve"), types_(std::move(types)) {}

  // Reads the file (a missing file is an empty store; Corruption if it cannot be parsed)
  // and lays down the ballast.
  Status Load();
  // True when the data_dir was never used before (no checkpoint file, no spooled frame):
  // the one start at which `start_at` applies. Initialize() ends it.
  bool fresh() const { return initialized_unix_nano_ == 0; }
  // Marks the data_dir as used from `now_unix_nano` on (the caller saves).
  void Initialize(int64_t now_unix_nano) { initialized_unix_nano_ = now_unix_nano; }
  int64_t initialized_unix_nano() const { return initialized_unix_nano_; }

  // The checkpoint keys of the sources configured now (handed to every state).
  void SetActiveSources(std::set<std::string> keys);
  // Merges a spool frame's delta, in frame order. Corruption when a state's bytes cannot be
  // parsed (the other states are merged all the same).
  Status Apply(const v1::Checkpoints& delta);
  // Merges one type's delta at once (a source's first sight of an input).
  Status ApplyState(std::string_view type, std::string_view delta);
  // Writes every state, stamped with the last spool sequence they cover (states prune
  // first).
  Status Save(uint64_t spool_sequence, bool sync);

  uint64_t spool_sequence() const { return spool_sequence_; }
  // The state of plugin type `type`, created empty on first use; nullptr when this build has
  // no such type.
  SourceState* State(std::string_view type);
  // For the plugin that owns `type` (it knows the concrete class).
  template <typename T>
  T& StateAs(std::string_view type) {
    return *static_cast<T*>(State(type));
  }

 private:
  // Makes the ballast at least `bytes` long; best effort (a full disk just leaves it short).
  void EnsureReserve(size_t bytes);
  Status MergeStates(const v1::Checkpoints& delta);

  std::string path_;
  std::string reserve_path_;
  SourceStateTypes types_;
  size_t reserve_bytes_ = 0;  // what the ballast holds now
  uint64_t spool_sequence_ = 0;
  int64_t initialized_unix_nano_ = 0;
  std::set<std::string> active_;
  std::map<std::string, std::unique_ptr<SourceState>, std::less<>> states_;
  std::map<std::string, std::string, std::less<>> unknown_;  // types this build lacks: kept as read
};

}  // namespace logship::agent
