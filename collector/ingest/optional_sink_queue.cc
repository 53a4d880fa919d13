#include "collector/ingest/optional_sink_queue.h"

#include <algorithm>
#include <random>

#include "common/log.h"

namespace logship::collector {
namespace {
constexpr std::string_view kComponent = "fanout";
}

OptionalSinkQueue::OptionalSinkQueue(Sink* sink, uint64_t max_bytes, metrics::Registry& registry)
    : sink_(sink),
      max_bytes_(max_bytes),
      metrics_(SinkMetrics::For(sink->name(), registry)),
      dropped_(registry.GetCounter("logship_collector_sink_dropped_records_total",
                                   "Records an optional (required: false) sink never got: queue full or refused.",
                                   {{"sink", std::string(sink->name())}})) {
  registry.AddCallback("logship_collector_sink_queue_bytes", "Bytes of batches waiting for an optional sink.",
                       {{"sink", std::string(sink->name())}}, [this] {
                         std::lock_guard<std::mutex> lock(mu_);
                         return static_cast<double>(bytes_);
                       });
  worker_ = std::thread([this] { Run(); });
}

OptionalSinkQueue::~OptionalSinkQueue() { Stop(std::chrono::milliseconds(0)); }

void OptionalSinkQueue::Offer(const DecodedBatch& batch) {
  const uint64_t bytes = batch.batch->ByteSizeLong();
  bool room;
  {
    std::lock_guard<std::mutex> lock(mu_);
    room = !stopping_ && (queue_.empty() || bytes_ + bytes <= max_bytes_);
  }
  if (room) {
    Item item{batch, bytes};  // the copy, outside the lock
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_ && (queue_.empty() || bytes_ + bytes <= max_bytes_)) {
      queue_.push_back(std::move(item));
      bytes_ += bytes;
      wake_.notify_one();
      return;
    }
  }
  dropped_.Inc(static_cast<uint64_t>(batch.batch->records_size()));
  if (ShouldWarn())
    LogWarn(kComponent, "optional sink " + std::string(sink_->name()) + " is behind (queue full): dropped " +
                   std::to_string(batch.batch->records_size()) + " records of batch " + std::to_string(batch.sequence) +
                   " from " + batch.agent_id);
}

bool OptionalSinkQueue::ShouldWarn() {
  const int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
  int64_t last = last_warn_.load();
  return now - last >= std::chrono::nanoseconds(std::chrono::seconds(10)).count() &&
         last_warn_.compare_exchange_strong(last, now);
}

void OptionalSinkQueue::Stop(std::chrono::milliseconds grace) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!worker_.joinable()) return;
  drained_.wait_for(lock, grace, [&] { return queue_.empty() && !busy_; });
  stopping_ = true;
  wake_.notify_all();
  lock.unlock();
  worker_.join();
  lock.lock();
  uint64_t lost = 0;
  for (const Item& item : queue_) lost += static_cast<uint64_t>(item.batch.batch->records_size());
  queue_.clear();
  bytes_ = 0;
  if (lost > 0) {
    dropped_.Inc(lost);
    LogWarn(kComponent, "stopping: " + std::to_string(lost) + " records queued for optional sink " +
                            std::string(sink_->name()) + " were not written");
  }
}

void OptionalSinkQueue::Run() {
  std::mt19937_64 rng{std::random_device{}()};
  for (;;) {
    std::unique_lock<std::mutex> lock(mu_);
    wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    Item item = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();

    auto delay = std::chrono::milliseconds(100);
    for (;;) {
      const auto start = std::chrono::steady_clock::now();
      WriteResult r = sink_->Write(item.batch);
      metrics_.write_seconds->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      if (r.outcome == WriteOutcome::kOk) {
        metrics_.Committed(item.batch);
        break;
      }
      metrics_.errors->Inc();
      if (r.outcome == WriteOutcome::kReject) {
        dropped_.Inc(static_cast<uint64_t>(item.batch.batch->records_size()));
        LogWarn(kComponent, std::string(sink_->name()) + " refused batch " + std::to_string(item.batch.sequence) +
                                " for good: " + r.reason);
        break;
      }
      if (ShouldWarn()) LogWarn(kComponent, std::string(sink_->name()) + " (optional) write failed, retrying: " + r.reason);
      std::uniform_int_distribution<long> jitter(50, delay.count());
      lock.lock();
      const bool stop = wake_.wait_for(lock, std::chrono::milliseconds(jitter(rng)), [&] { return stopping_; });
      lock.unlock();
      if (stop) {
        dropped_.Inc(static_cast<uint64_t>(item.batch.batch->records_size()));
        break;
      }
      delay = std::min(delay * 2, std::chrono::milliseconds(5000));
    }
    lock.lock();
    busy_ = false;
    bytes_ -= item.bytes;
    if (queue_.empty()) drained_.notify_all();
  }
}

}  // namespace logship::collector
