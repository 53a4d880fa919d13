// Turns a BatchFrame from the wire into a Batch, checking every limit before allocating
// (frame size, declared uncompressed size, record count) and the batch's internal
// consistency. Holds only its limits: any thread may decode with it (each thread
// decompresses with its own zstd context).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "collector/server/server_config.h"
#include "common/status.h"
#include "common/zstd_codec.h"
#include "logship/v1/ingest.pb.h"
#include "logship/v1/record.pb.h"

namespace logship::collector {

// A record the decoder took out of an otherwise good batch: one over-limit value must not
// cost its neighbours (they are written; this one goes to the dead letter).
struct RefusedRecord {
  logship::v1::LogRecord record;
  std::string reason;
};

// As the agent's own config allows (agent_id: 1 to 255 characters).
inline constexpr size_t kMaxAgentIdBytes = 255;

class FrameDecoder {
 public:
  explicit FrameDecoder(const Limits& limits) : limits_(limits) {}

  // InvalidArgument or ResourceExhausted (with a reason fit for the sender) on bad input.
  // Records that break a per-record limit (an attribute over max_attribute_bytes) are moved
  // to *refused with their ids resolved. `principal`: the authenticated sender, or "" (see
  // ResolveRecordIdentity). The frame's agent_id may differ from the batch's (an agent
  // renamed while batches waited in its spool). `derive_ids` false: every check runs but
  // file record ids are not derived (ResolveRecordIdentity's `assign`) unless a record was
  // refused (a dead letter needs its id).
  Status Decode(const logship::v1::BatchFrame& frame, logship::v1::Batch* out,
                std::vector<RefusedRecord>* refused = nullptr, std::string_view principal = {},
                bool derive_ids = true);

 private:
  const Limits limits_;
};

}  // namespace logship::collector
