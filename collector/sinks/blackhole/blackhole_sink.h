// Decodes and counts, writes nothing: for benchmarks and smoke tests. Thread-safe.
#pragma once

#include <atomic>

#include "collector/sinks/sink.h"

namespace logship::collector {

class BlackholeSink final : public Sink {
 public:
  std::string_view name() const override { return "blackhole"; }
  WriteResult Write(const DecodedBatch& batch) override {
    records_ += static_cast<uint64_t>(batch.batch.records_size());
    return {WriteOutcome::kOk, ""};
  }
  Status HealthCheck() override { return Status::Ok(); }
  uint64_t records() const { return records_.load(); }

 private:
  std::atomic<uint64_t> records_{0};
};

}  // namespace logship::collector
