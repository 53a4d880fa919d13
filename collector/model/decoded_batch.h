// The collector's unit of work: a batch as received and decoded, on its way through the
// pipeline to the sinks.
#pragma once

#include <google/protobuf/arena.h>

#include <cstdint>
#include <memory>
#include <string>

#include "collector/model/received_frame.h"
#include "logship/v1/record.pb.h"

namespace logship::collector {

// A batch as received, with the agent id the collector vouches for. The Batch and every
// record and string in it live in `arena`: decoding costs a few block allocations instead
// of several per record, and it all goes at once when the batch is done (nothing is kept
// between frames). Moving keeps the records where they are; copying makes a new arena.
struct DecodedBatch {
  DecodedBatch()
      : arena(std::make_unique<google::protobuf::Arena>(ArenaOptions())),
        batch(google::protobuf::Arena::CreateMessage<logship::v1::Batch>(arena.get())) {}
  DecodedBatch(const DecodedBatch& other) : DecodedBatch() {
    agent_id = other.agent_id;
    sequence = other.sequence;
    part = other.part;
    received = other.received;
    derived = other.derived;
    batch->CopyFrom(*other.batch);
  }
  DecodedBatch& operator=(const DecodedBatch&) = delete;
  DecodedBatch(DecodedBatch&&) noexcept = default;
  DecodedBatch& operator=(DecodedBatch&&) noexcept = default;

  std::string agent_id;  // who sent it (the authenticated agent when tokens are on)
  uint64_t sequence = 0;
  uint32_t part = 0;     // of a sequence the agent split (BatchFrame.part)
  std::unique_ptr<google::protobuf::Arena> arena;
  logship::v1::Batch* batch;  // owned by `arena`; null only in a moved-from object
  // The frame `batch` was decoded from, while `batch` is exactly what decoding it gives plus
  // the pipeline's fixed steps (no stage ran, no record was refused); else null. Set only
  // when a sink wants it (Sink::WantsReceivedFrame).
  std::shared_ptr<const ReceivedFrame> received;
  // False when every sink writes only `received` (Sink::WritesOnlyFrame): the records were
  // checked but their file ids not derived, and the pipeline's fixed steps are left to
  // whoever decodes the frame again. `received` is then never null.
  bool derived = true;

 private:
  static google::protobuf::ArenaOptions ArenaOptions() {
    google::protobuf::ArenaOptions o;
    o.start_block_size = 64 << 10;  // a typical batch (1 MiB) takes a few dozen blocks
    o.max_block_size = 1 << 20;
    return o;
  }
};

}  // namespace logship::collector
