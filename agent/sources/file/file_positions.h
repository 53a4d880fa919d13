// Where one file source's files stand, as the flow seals batches (a PositionTracker): the
// position after each file's last record in the batch, with the bytes just before it, and
// positions moved without a record. Loop thread only.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "agent/sources/source.h"
#include "logship/agent/v1/checkpoint.pb.h"

namespace logship::agent {

class FilePositions final : public PositionTracker {
 public:
  explicit FilePositions(std::string source_key) : source_key_(std::move(source_key)) {}

  std::string_view type() const override;
  void Advance(const LineRecord& record) override;
  void TakeDelta(std::string* out) override;

  // A position that moved without a record (its source field is set here).
  void Set(v1::FileCheckpoint position);

 private:
  // Writes the run's last record into its entry (last_).
  void FlushRun();

  std::string source_key_;
  std::map<std::pair<uint64_t, uint64_t>, v1::FileCheckpoint> moved_;  // (device, inode) →
  // The entry the previous Advance moved (runs of lines come from one file): no lookup, and
  // the entry is filled once per run (FlushRun), not per line.
  std::pair<uint64_t, uint64_t> last_key_;
  v1::FileCheckpoint* last_ = nullptr;
  bool run_open_ = false;        // run_* hold a record not yet in *last_
  std::string run_path_;
  FilePosition run_next_;
  char run_tail_[32];            // the bytes just before run_next_.offset
  size_t run_tail_size_ = 0;
};

}  // namespace logship::agent
