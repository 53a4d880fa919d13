// The sink contract: something that durably stores decoded batches.
//
// Write() may be called concurrently from several stream threads; it returns only once
// the batch is committed (kOk) or definitely not (kRetry: try the whole batch again later;
// kReject: it can never be stored, reason given). Re-writing a committed batch must not
// create duplicates: sinks key on the record id. Sinks never sleep or retry internally;
// the caller decides.
#pragma once

#include <google/protobuf/arena.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/metrics/registry.h"
#include "common/status.h"
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

 private:
  static google::protobuf::ArenaOptions ArenaOptions() {
    google::protobuf::ArenaOptions o;
    o.start_block_size = 64 << 10;  // a typical batch (1 MiB) takes a few dozen blocks
    o.max_block_size = 1 << 20;
    return o;
  }
};

enum class WriteOutcome { kOk, kRetry, kReject };

struct WriteResult {
  WriteOutcome outcome = WriteOutcome::kOk;
  std::string reason;  // for kRetry / kReject; no secrets
};

class Sink {
 public:
  virtual ~Sink() = default;
  Sink() = default;
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;

  virtual std::string_view name() const = 0;
  virtual WriteResult Write(const DecodedBatch& batch) = 0;
  // Registers the sink's own metrics (label sink="<name>"). `registry` outlives the sink.
  virtual void RegisterMetrics(metrics::Registry& /*registry*/) {}
  // Cheap reachability check for health reporting; never called from Write.
  virtual Status HealthCheck() = 0;
};

}  // namespace logship::collector
