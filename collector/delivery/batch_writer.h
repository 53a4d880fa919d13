// Decoded batch → pipeline → sinks, with metrics. Shared by Ingest and OTLP ingest.
//
// Fan-out rule: Write() returns kOk once every `required` sink committed the batch
// (required sinks are written in order; the first failure decides the result, and the
// whole batch is retried later, which the sinks' record-id keys make harmless). A required
// sink's kRetry is first tried again here for its retry_budget (sink_plugin.h). Only then
// is the batch offered to each optional sink's bounded queue (optional_sink_queue.h).
// Thread-safe.
#pragma once

#include <memory>
#include <vector>

#include "collector/server/frame_decoder.h"
#include "collector/delivery/optional_sink_queue.h"
#include "collector/delivery/sink_metrics.h"
#include "collector/pipeline/pipeline.h"
#include "collector/model/dead_letter_store.h"
#include "collector/sinks/sink.h"
#include "collector/sinks/sink_plugin.h"
#include "common/thread/mutex.h"

namespace logship::collector {

struct SinkSlot {
  Sink* sink = nullptr;
  SinkDelivery delivery;
};

class BatchWriter {
 public:
  // The sinks and `registry` must outlive the writer.
  BatchWriter(std::vector<SinkSlot> sinks, metrics::Registry& registry);
  // Convenience: every sink required.
  BatchWriter(std::vector<Sink*> sinks, metrics::Registry& registry);
  ~BatchWriter();
  // Where records refused at decoding go (sink "ingest"); must outlive the writer. Without
  // one, such records fail their batch (kReject), as nothing could keep them.
  void SetDeadLetterStore(DeadLetterStore* store) { dead_letters_ = store; }
  // `refused`: records the decoder took out of `batch`; they are kept in the dead-letter
  // store before the batch is written (a failure to keep them is a retry of the whole).
  WriteResult Write(const Pipeline& pipeline, DecodedBatch& batch, const std::vector<RefusedRecord>& refused = {},
                    const EventTimeWindow& window = {});
  // Some sink can use DecodedBatch::received: ingest should keep each frame with its batch.
  bool wants_received_frames() const { return wants_received_frames_; }
  // Every sink, required or optional, writes only the frame of such a batch
  // (Sink::WritesOnlyFrame): with no pipeline stage, ingest need not derive the records.
  bool WritesOnlyFrame(uint64_t frame_bytes, size_t principal_bytes) const;
  // Ends retry waits at once (writes in progress hand their batch back): shutdown.
  void Interrupt();
  // Interrupts, gives optional sinks up to `grace` to catch up, then stops their queues.
  void Stop(std::chrono::milliseconds grace);

 private:
  // One required sink's write, tried again within its retry budget.
  WriteResult WriteWithRetries(Sink& sink, const SinkDelivery& delivery, const SinkMetrics& m, DecodedBatch& batch);

  std::vector<Sink*> required_;
  std::vector<Sink*> all_;  // required and optional
  bool wants_received_frames_ = false;
  std::vector<SinkDelivery> required_delivery_;  // parallel to required_
  std::vector<SinkMetrics> required_metrics_;  // parallel to required_
  Mutex mu_;
  CondVar interrupted_cv_;
  bool interrupted_ GUARDED_BY(mu_) = false;
  std::vector<std::unique_ptr<OptionalSinkQueue>> optional_;
  metrics::Counter& dropped_;
  metrics::Counter& refused_;
  DeadLetterStore* dead_letters_ = nullptr;
};

}  // namespace logship::collector
