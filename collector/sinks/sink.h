// The sink contract: something that durably stores decoded batches.
//
// Write() may be called concurrently from several stream threads; it returns only once
// the batch is committed (kOk) or definitely not (kRetry: try the whole batch again later;
// kReject: it can never be stored, reason given). Re-writing a committed batch must not
// create duplicates: sinks key on the record id. Sinks never sleep or retry internally;
// the caller decides.
#pragma once

#include <string>
#include <string_view>

#include "common/metrics/registry.h"
#include "common/status.h"
#include "logship/v1/record.pb.h"

namespace logship::collector {

// A batch as received, with the agent id the collector vouches for.
struct DecodedBatch {
  std::string agent_id;
  uint64_t sequence = 0;
  logship::v1::Batch batch;
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
