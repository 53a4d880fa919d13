// The `kafka` input, the indexer role (README "Kafka"): a member of a Kafka consumer group that reads batch
// messages of either version (batch_message.h) and writes each to this collector's sinks through the
// BatchWriter, one at a time. A partition's offset is stored only after every required sink
// committed the batch (and committed to Kafka from there every second, and at a rebalance),
// so a crash or a rebalance delivers some batches again; sinks key on record ids, so they
// store them once. While the sinks refuse, the assigned partitions are paused (the group
// membership is kept, nothing is buffered) and the same batch is tried again with backoff.
// A message that is not a logship batch is logged, counted and skipped. One thread.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "collector/delivery/batch_writer.h"
#include "collector/inputs/input_plugin.h"
#include "collector/kafka/kafka_client.h"
#include "collector/server/frame_decoder.h"
#include "collector/pipeline/pipeline.h"
#include "common/metrics/registry.h"
#include "common/thread/mutex.h"
#include "common/zstd_codec.h"

namespace logship::collector {

struct KafkaInputConfig : InputConfig {
  KafkaClientConfig client;
  std::string group = "logship-indexers";
  std::chrono::milliseconds retry_min{200}, retry_max{5000};
  std::string Source() const override { return KafkaDestination(client); }
};

// `inputs.kafka` of collector.yaml. Throws ConfigError.
std::unique_ptr<InputConfig> ParseKafkaInput(ConfigMap& m);

class KafkaInput final : public Input {
 public:
  // `writer` and `registry` outlive the input.
  static Result<std::unique_ptr<KafkaInput>> Create(const KafkaInputConfig& config, BatchWriter& writer,
                                                    metrics::Registry& registry);
  ~KafkaInput() override;
  void Start() override;
  // Finishes the batch being written (or gives it up, when the writer was interrupted),
  // commits what was stored and leaves the group.
  void Stop() override;

  // Rebalance callback target (librdkafka's thread = the consumer thread).
  void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions);

 private:
  KafkaInput(const KafkaInputConfig& config, BatchWriter& writer, metrics::Registry& registry);
  void Run();
  void Handle(const rd_kafka_message_t& m);
  // A message of either version (its header says which) into a batch, and the event-time
  // window the pipeline clamps to.
  Status Decode(const rd_kafka_message_t& m, DecodedBatch* out, EventTimeWindow* window);
  // Writes until the sinks commit it, Stop() is called, or its partition is taken away.
  bool WriteWithBackoff(DecodedBatch& batch, const EventTimeWindow& window, const rd_kafka_message_t& m);
  // Every second: each held partition's lag from its high watermark. `ask` queries the brokers
  // (a paused partition fetches nothing, so the cached watermark would stand still).
  void UpdateLag(bool ask);

  const KafkaInputConfig config_;
  BatchWriter& writer_;
  metrics::Registry& registry_;
  // No stages: the edge ran them (version 2 frames come only from edges without any); the
  // fixed steps (time and severity, the event-time clamp) run here for version 2.
  std::shared_ptr<const Pipeline> pipeline_;
  RdKafkaPtr consumer_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::atomic<uint64_t> consumed_{0}, malformed_{0}, rebalances_{0}, write_retries_{0}, errors_{0};
  Mutex lag_mu_;
  std::map<int32_t, std::shared_ptr<std::atomic<int64_t>>> lag_ GUARDED_BY(lag_mu_);
  std::chrono::steady_clock::time_point next_lag_update_;  // consumer thread only
  ZstdDecompressor zstd_;                                  // consumer thread only (version 1)
  FrameDecoder frames_;                                    // consumer thread only (version 2)
};

}  // namespace logship::collector
