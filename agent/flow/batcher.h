// Groups records into a logship.v1.Batch, written in wire format as they come
// (BatchWireWriter; BatchEncoder compresses it, on the spool writer's thread).
// Alongside it collects the checkpoint delta: the sources whose records (or positions) are in
// the batch are asked, as it is sealed, where they stand (PositionTracker; see
// agent/spool/FORMAT.md for why it travels with the frame). Loop thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "agent/flow/batch_wire_writer.h"
#include "agent/sources/source.h"
#include "common/status.h"
#include "logship/agent/v1/checkpoint.pb.h"

namespace logship::agent {

struct BatchConfig {
  // Ordinary lines fill max_bytes first: each batch has a fixed cost (wake-ups, an fsync
  // round, a frame, an ack), which 2,000-record batches of 150-byte lines made 15% of the
  // agent's CPU. The cap stays well below the collector's limits.max_records (100,000).
  uint32_t max_records = 10000;
  uint64_t max_bytes = 1ull << 20;
  std::chrono::milliseconds linger{200};
};

// A batch handed over by the Batcher: serialized, not yet compressed.
struct FilledBatch {
  SerializedBatch batch;  // a serialized logship.v1.Batch
  uint32_t record_count = 0;
  v1::Checkpoints delta;  // where each source stands once the batch is spooled
};

class Batcher {
 public:
  Batcher(const BatchConfig& config, std::string agent_id, std::string host);

  // Adds a record. True when the batch is full (max_records or max_bytes) and should be sealed.
  bool Add(const LineRecord& record);
  // Positions moved without a record; they take effect with this batch.
  void Touch(PositionTracker* tracker);
  // No records and no positions: nothing to seal. (A batch of positions alone is sealed
  // too: it is checkpointed in order without being spooled, see SpoolWriter.)
  bool empty() const { return writer_.records() == 0 && touched_.empty(); }
  size_t records() const { return writer_.records(); }
  // Large enough to be sealed as soon as the sources have caught up: half of max_records or
  // max_bytes, or kCaughtUpRecords records (with max_records sized for bulk reading, half of
  // it would hold a steady stream's lines for most of the linger).
  static constexpr uint32_t kCaughtUpRecords = 1000;
  bool WorthSealing() const {
    return records() >= kCaughtUpRecords || records() * 2 >= config_.max_records ||
           approx_bytes_ * 2 >= config_.max_bytes;
  }

  // Hands the batch over and starts an empty one. REQUIRES: !empty().
  // A batch without records has an empty `batch`.
  Result<FilledBatch> Take();

 private:
  const BatchConfig config_;
  BatchWireWriter writer_;
  uint64_t approx_bytes_ = 0;
  // Index in batch_.sources of a record's source: records with ids by source_id; others by
  // source_id and stream identity (their ids are derived from it at the collector).
  uint32_t SourceIndex(const LineRecord& r);
  struct Stream {
    uint32_t index = 0;
    uint64_t next_offset = 0;  // where the previous record of this source ended (+1, the newline)
  };
  // source_id, device, inode, fingerprint, generation
  using StreamKey = std::tuple<uint64_t, uint64_t, uint64_t, uint64_t, uint64_t>;
  std::unordered_map<uint64_t, uint32_t> source_index_;  // source_id → index in batch_.sources
  std::map<StreamKey, Stream> streams_;
  StreamKey last_key_{};                 // a one-entry cache: runs of lines come from one stream
  Stream* last_stream_ = nullptr;
  uint64_t last_observed_ = 0;         // observed time of the previous record in the batch
  std::vector<PositionTracker*> touched_;  // sources asked for their positions at Take()
};

}  // namespace logship::agent
