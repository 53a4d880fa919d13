// The per-sink metrics every sink gets (design.md names), updated by whoever learns that
// the sink committed a batch: BatchWriter for required sinks, the queue for optional ones.
#pragma once

#include <string_view>

#include "collector/sinks/sink.h"
#include "common/clock.h"
#include "common/metrics/registry.h"

namespace logship::collector {

struct SinkMetrics {
  metrics::Counter* records;
  metrics::Counter* errors;
  metrics::Histogram* write_seconds;
  metrics::Histogram* lag_seconds;

  static SinkMetrics For(std::string_view sink, metrics::Registry& registry) {
    const metrics::Labels l = {{"sink", std::string(sink)}};
    return SinkMetrics{
        &registry.GetCounter("logship_collector_sink_records_total", "Records a sink committed.", l),
        &registry.GetCounter("logship_collector_sink_errors_total", "Failed batch writes, by sink.", l),
        &registry.GetHistogram("logship_collector_sink_write_seconds", "Time to commit one batch, by sink.",
                               metrics::LatencyBuckets(), l),
        &registry.GetHistogram("logship_collector_end_to_end_lag_seconds",
                               "From the agent reading a record to the sink committing it.", metrics::LatencyBuckets(),
                               l)};
  }

  void Committed(const DecodedBatch& batch) const {
    records->Inc(static_cast<uint64_t>(batch.batch->records_size()));
    const int64_t now = UnixNanosNow();
    for (const auto& rec : batch.batch->records())
      lag_seconds->Observe(static_cast<double>(now - static_cast<int64_t>(rec.observed_time_unix_nano())) / 1e9);
  }
};

}  // namespace logship::collector
