#include "collector/delivery/optional_sink_queue.h"

#include <algorithm>

#include "common/backoff.h"
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
                         MutexLock lock(mu_);
                         return static_cast<double>(bytes_);
                       });
  worker_ = std::thread([this] { Run(); });
}

OptionalSinkQueue::~OptionalSinkQueue() { Stop(std::chrono::milliseconds(0)); }

void OptionalSinkQueue::Offer(const DecodedBatch& batch) {
  const uint64_t bytes = batch.batch->ByteSizeLong();
  bool room;
  {
    MutexLock lock(mu_);
    room = !stopping_ && (queue_.empty() || bytes_ + bytes <= max_bytes_);
  }
  if (room) {
    Item item{batch, bytes};  // the copy, outside the lock
    MutexLock lock(mu_);
    if (!stopping_ && (queue_.empty() || bytes_ + bytes <= max_bytes_)) {
      queue_.push_back(std::move(item));
      bytes_ += bytes;
      wake_.NotifyOne();
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
  if (!worker_.joinable()) return;
  {
    MutexLock lock(mu_);
    const auto deadline = std::chrono::steady_clock::now() + grace;
    while (!(queue_.empty() && !busy_) && drained_.WaitUntil(mu_, deadline)) {
    }
    stopping_ = true;
  }
  wake_.NotifyAll();
  worker_.join();
  MutexLock lock(mu_);
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
  for (;;) {
    std::optional<Item> item = Next();
    if (!item) return;
    Deliver(*item);
    MutexLock lock(mu_);
    busy_ = false;
    bytes_ -= item->bytes;
    if (queue_.empty()) drained_.NotifyAll();
  }
}

std::optional<OptionalSinkQueue::Item> OptionalSinkQueue::Next() {
  MutexLock lock(mu_);
  while (!stopping_ && queue_.empty()) wake_.Wait(mu_);
  if (stopping_) return std::nullopt;
  Item item = std::move(queue_.front());
  queue_.pop_front();
  busy_ = true;
  return item;
}

bool OptionalSinkQueue::SleepUnlessStopping(std::chrono::milliseconds d) {
  MutexLock lock(mu_);
  const auto until = std::chrono::steady_clock::now() + d;
  while (!stopping_ && wake_.WaitUntil(mu_, until)) {
  }
  return stopping_;
}

void OptionalSinkQueue::Deliver(Item& item) {
  Backoff backoff(std::chrono::milliseconds(50), std::chrono::milliseconds(5000));
  for (;;) {
    const auto start = std::chrono::steady_clock::now();
    WriteResult r = sink_->Write(item.batch);
    metrics_.write_seconds->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    if (r.outcome == WriteOutcome::kOk) {
      metrics_.Committed(item.batch);
      return;
    }
    metrics_.errors->Inc();
    if (r.outcome == WriteOutcome::kReject) {
      dropped_.Inc(static_cast<uint64_t>(item.batch.batch->records_size()));
      LogWarn(kComponent, std::string(sink_->name()) + " refused batch " + std::to_string(item.batch.sequence) +
                              " for good: " + r.reason);
      return;
    }
    if (ShouldWarn()) LogWarn(kComponent, std::string(sink_->name()) + " (optional) write failed, retrying: " + r.reason);
    if (SleepUnlessStopping(backoff.Next())) {
      dropped_.Inc(static_cast<uint64_t>(item.batch.batch->records_size()));
      return;
    }
  }
}

}  // namespace logship::collector
