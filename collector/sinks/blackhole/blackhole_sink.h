// Decodes and counts, writes nothing: for benchmarks and smoke tests. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <thread>

#include "collector/sinks/sink.h"

namespace logship::collector {

class BlackholeSink final : public Sink {
 public:
  explicit BlackholeSink(std::chrono::milliseconds delay = {}) : delay_(delay) {}
  std::string_view name() const override { return "blackhole"; }
  WriteResult Write(const DecodedBatch& batch) override {
    if (delay_.count() > 0) std::this_thread::sleep_for(delay_);  // a deliberately slow sink (tests)
    records_ += static_cast<uint64_t>(batch.batch->records_size());
    return {WriteOutcome::kOk, ""};
  }
  Status HealthCheck() override { return Status::Ok(); }
  uint64_t records() const { return records_.load(); }

 private:
  const std::chrono::milliseconds delay_;
  std::atomic<uint64_t> records_{0};
};

}  // namespace logship::collector
