// Feeds a `required: false` sink from a bounded queue on its own thread, so a slow or
// dead optional sink never holds up acks. Offer() copies the batch in, or drops it and
// counts the records when `max_bytes` of batches are already waiting
// (logship_collector_sink_dropped_records_total). The worker retries kRetry with capped
// backoff; kReject drops and counts. Batches still queued at shutdown are counted as
// dropped. Offer() from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "collector/ingest/sink_metrics.h"

namespace logship::collector {

class OptionalSinkQueue {
 public:
  // `sink` and `registry` must outlive the queue.
  OptionalSinkQueue(Sink* sink, uint64_t max_bytes, metrics::Registry& registry);
  ~OptionalSinkQueue();
  OptionalSinkQueue(const OptionalSinkQueue&) = delete;
  OptionalSinkQueue& operator=(const OptionalSinkQueue&) = delete;

  void Offer(const DecodedBatch& batch);
  // Waits up to `grace` for the queue to empty, then stops the worker.
  void Stop(std::chrono::milliseconds grace);

 private:
  struct Item {
    DecodedBatch batch;
    uint64_t bytes;
  };
  void Run();
  bool ShouldWarn();  // at most one warning per 10 s, so a dead sink cannot flood the log

  Sink* const sink_;
  const uint64_t max_bytes_;
  const SinkMetrics metrics_;
  metrics::Counter& dropped_;
  std::mutex mu_;
  std::condition_variable wake_, drained_;
  std::deque<Item> queue_;  // GUARDED_BY(mu_)
  uint64_t bytes_ = 0;      // GUARDED_BY(mu_)
  bool busy_ = false;       // GUARDED_BY(mu_): the worker holds a batch
  bool stopping_ = false;   // GUARDED_BY(mu_)
  std::atomic<int64_t> last_warn_{INT64_MIN / 2};  // steady_clock ticks
  std::thread worker_;
};

}  // namespace logship::collector
