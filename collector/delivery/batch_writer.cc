#include "collector/delivery/batch_writer.h"

#include <chrono>

#include "common/backoff.h"

#include "collector/model/record_json.h"
#include "common/log.h"
#include "common/record_id.h"

namespace logship::collector {
namespace {

std::vector<SinkSlot> AllRequired(const std::vector<Sink*>& sinks) {
  std::vector<SinkSlot> slots;
  for (Sink* s : sinks) slots.push_back(SinkSlot{s, SinkDelivery{}});
  return slots;
}

}  // namespace

BatchWriter::BatchWriter(std::vector<Sink*> sinks, metrics::Registry& registry)
    : BatchWriter(AllRequired(sinks), registry) {}

BatchWriter::BatchWriter(std::vector<SinkSlot> sinks, metrics::Registry& registry)
    : dropped_(registry.GetCounter("logship_collector_pipeline_dropped_total", "Records dropped by drop stages.")),
      refused_(registry.GetCounter("logship_collector_sink_dead_lettered_total",
                                   "Records refused for good and kept in a dead-letter store.", {{"sink", "ingest"}})) {
  for (const SinkSlot& slot : sinks) {
    slot.sink->RegisterMetrics(registry);
    all_.push_back(slot.sink);
    wants_received_frames_ = wants_received_frames_ || slot.sink->WantsReceivedFrame();
    if (slot.delivery.required) {
      required_.push_back(slot.sink);
      required_delivery_.push_back(slot.delivery);
      required_metrics_.push_back(SinkMetrics::For(slot.sink->name(), registry));
    } else {
      optional_.push_back(std::make_unique<OptionalSinkQueue>(slot.sink, slot.delivery.queue_max_bytes, registry));
    }
  }
}

bool BatchWriter::WritesOnlyFrame(uint64_t frame_bytes, size_t principal_bytes) const {
  for (const Sink* s : all_)
    if (!s->WritesOnlyFrame(frame_bytes, principal_bytes)) return false;
  return !all_.empty() && wants_received_frames_;  // the frame is kept only then (ingest)
}

BatchWriter::~BatchWriter() { Stop(std::chrono::milliseconds(0)); }

void BatchWriter::Interrupt() {
  {
    MutexLock lock(mu_);
    interrupted_ = true;
  }
  interrupted_cv_.NotifyAll();
}

void BatchWriter::Stop(std::chrono::milliseconds grace) {
  Interrupt();
  for (auto& q : optional_) q->Stop(grace);
}

WriteResult BatchWriter::WriteWithRetries(Sink& sink, const SinkDelivery& delivery, const SinkMetrics& m,
                                          DecodedBatch& batch) {
  const auto deadline = std::chrono::steady_clock::now() + delivery.retry_budget;
  Backoff backoff(delivery.retry_min, delivery.retry_max);
  for (;;) {
    const auto start = std::chrono::steady_clock::now();
    WriteResult r = sink.Write(batch);
    m.write_seconds->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    if (r.outcome != WriteOutcome::kRetry) return r;
    m.errors->Inc();
    const auto wait = backoff.Next();
    MutexLock lock(mu_);
    const auto until = std::chrono::steady_clock::now() + wait;
    if (interrupted_ || until > deadline) return r;
    while (!interrupted_ && interrupted_cv_.WaitUntil(mu_, until)) {
    }
    if (interrupted_) return r;
  }
}

WriteResult BatchWriter::Write(const Pipeline& pipeline, DecodedBatch& batch,
                               const std::vector<RefusedRecord>& refused, const EventTimeWindow& window) {
  if (!refused.empty()) {
    if (dead_letters_ == nullptr) return {WriteOutcome::kReject, refused.front().reason};
    std::vector<DeadLetter> letters;
    for (const auto& r : refused) {
      RecordId id;
      RecordId::FromBytes(r.record.id(), &id);
      letters.push_back(DeadLetter{id.ToUuid(), batch.agent_id, "ingest", "limit", r.reason,
                                   RecordAsJson(*batch.batch, r.record)});
    }
    auto kept = dead_letters_->Store(letters);
    if (!kept.ok())
      return {WriteOutcome::kRetry, "cannot keep refused records in the dead letter: " + kept.status().message()};
    refused_.Inc(*kept);
    LogWarn("ingest", std::to_string(refused.size()) + " record(s) of batch " + std::to_string(batch.sequence) +
                          " from " + batch.agent_id + " refused (" + refused.front().reason + "); kept in " +
                          dead_letters_->Describe());
  }
  if (!batch.derived) {
    // Ingest decided so with this very pipeline (a frame keeps the settings it was decoded
    // with): no stage, and every sink reads only the frame. Never taken otherwise.
    if (pipeline.stages() > 0 || batch.received == nullptr)
      return {WriteOutcome::kRetry, "a frame-only batch met a pipeline with stages"};
  } else {
    dropped_.Inc(pipeline.Process(batch.batch, window));
  }
  // A stage may change records in ways only this pipeline knows: the frame no longer says it all.
  if (pipeline.stages() > 0 || !refused.empty()) batch.received.reset();
  for (size_t i = 0; i < required_.size(); ++i) {
    Sink* sink = required_[i];
    const SinkMetrics& m = required_metrics_[i];
    WriteResult r = WriteWithRetries(*sink, required_delivery_[i], m, batch);
    if (r.outcome != WriteOutcome::kOk) {
      if (r.outcome == WriteOutcome::kReject) m.errors->Inc();
      r.reason = std::string(sink->name()) + ": " + r.reason;
      return r;
    }
    m.Committed(batch);
  }
  for (auto& q : optional_) q->Offer(batch);
  return {WriteOutcome::kOk, ""};
}

}  // namespace logship::collector
