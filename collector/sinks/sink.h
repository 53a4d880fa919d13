// The sink contract: something that durably stores decoded batches.
//
// Write() may be called concurrently from several stream threads; it returns only once
// the batch is committed (kOk) or definitely not (kRetry: try the whole batch again later;
// kReject: it can never be stored, reason given). Re-writing a committed batch must not
// create duplicates: sinks key on the record id. Sinks never sleep or retry internally;
// the caller decides.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "collector/model/dead_letter_store.h"
#include "collector/model/decoded_batch.h"
#include "collector/model/log_reader.h"
#include "common/metrics/registry.h"
#include "common/status.h"

namespace logship::collector {

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
  // True when Write can use DecodedBatch::received (the frame as it arrived): ingest keeps
  // each frame beside its batch only when some sink says so.
  virtual bool WantsReceivedFrame() const { return false; }
  // True when, given DecodedBatch::received holding a frame of `frame_bytes` (its serialized
  // size) from `principal_bytes` of principal, Write reads nothing of the batch but that
  // frame, agent_id, the record count and observed times: ingest may then skip deriving ids
  // and the pipeline's fixed steps (DecodedBatch::derived).
  virtual bool WritesOnlyFrame(uint64_t frame_bytes, size_t principal_bytes) const {
    (void)frame_bytes;
    (void)principal_bytes;
    return false;
  }
  // Registers the sink's own metrics (label sink="<name>"). `registry` outlives the sink.
  virtual void RegisterMetrics(metrics::Registry& /*registry*/) {}
  // Cheap reachability check for health reporting; never called from Write.
  virtual Status HealthCheck() = 0;
  // At start: sets up what the destination needs (schema, template). A failure is logged
  // and writes are retried (they set it up again), so a destination may come up later.
  virtual Status Prepare() { return HealthCheck(); }

  // Keeps the records other parts refuse (a dead-letter table); nullptr when it cannot.
  virtual DeadLetterStore* dead_letters() { return nullptr; }
  // The store that keeps every sink's refused records when one sink offers it (a table);
  // a sink that can refuse single records (a mapping error) uses it rather than files of its
  // own. Called before the first write, only when there is such a store.
  virtual void SetDeadLetterStore(DeadLetterStore* store) { (void)store; }
  // Reads stored records back (the web console) on `connections` connections of its own,
  // each query bounded by `timeout`; nullptr when this sink cannot be read.
  virtual std::unique_ptr<LogReader> NewReader(uint32_t connections, std::chrono::milliseconds timeout) {
    (void)connections;
    (void)timeout;
    return nullptr;
  }
};

}  // namespace logship::collector
