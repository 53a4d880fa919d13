// Feeds a `required: false` sink from a bounded queue on its own thread, so a slow or
// dead optional sink never holds up acks. Offer() copies the batch in, or drops it and
// counts the records when `max_bytes` of batches are already waiting
// (logship_collector_sink_dropped_records_total). The worker retries kRetry with capped
// backoff; kReject drops and counts. Batches still queued at shutdown are counted as
// dropped. Offer() from any thread.
#pragma once

#include <atomic>
#include <deque>
#include <optional>
#include <thread>

#include "collector/delivery/sink_metrics.h"
#include "common/thread/mutex.h"

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
  std::optional<Item> Next() EXCLUDES(mu_);  // nullopt: stopping
  void Deliver(Item& item) EXCLUDES(mu_);     // until stored, refused for good, or stopping
  bool SleepUnlessStopping(std::chrono::milliseconds d) EXCLUDES(mu_);  // true: stopping
  bool ShouldWarn();  // at most one warning per 10 s, so a dead sink cannot flood the log

  Sink* const sink_;
  const uint64_t max_bytes_;
  const SinkMetrics metrics_;
  metrics::Counter& dropped_;
  Mutex mu_;
  CondVar wake_, drained_;
  std::deque<Item> queue_ GUARDED_BY(mu_);
  uint64_t bytes_ GUARDED_BY(mu_) = 0;
  bool busy_ GUARDED_BY(mu_) = false;  // the worker holds a batch
  bool stopping_ GUARDED_BY(mu_) = false;
  std::atomic<int64_t> last_warn_{INT64_MIN / 2};  // steady_clock ticks
  std::thread worker_;
};

}  // namespace logship::collector
