// The `kafka` sink (README "Kafka"): each batch becomes one message (or a few, when it is
// larger than max_message_bytes) keyed by agent: the agent's frame as it arrived (version 2)
// when that says it all, else the batch encoded (version 1), produced by an idempotent producer with
// acks=all. Write() returns once every message of the batch was delivery-confirmed by the
// brokers (kOk), or failed (kRetry: the agent's batch is not acked and comes again; the
// indexers de-duplicate by record id). A producer queue that is full is waited on, never
// grown. Write() is thread-safe; one thread serves librdkafka's delivery reports.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "collector/kafka/batch_message.h"
#include "collector/kafka/kafka_client.h"
#include "collector/sinks/sink.h"
#include "collector/sinks/sink_plugin.h"

namespace logship::collector {

struct KafkaSinkConfig : SinkConfig {
  KafkaClientConfig client;
  std::chrono::milliseconds delivery_timeout{30000};  // message.timeout.ms
  uint64_t max_message_bytes = 1u << 20;              // message.max.bytes; batches are split below it
  // The newest message version this edge writes (batch_message.h): 2 forwards the agent's
  // frame when it can; 1 always encodes the batch (indexers older than version 2 read only 1).
  int message_version = 2;
  std::string Destination() const override { return KafkaDestination(client); }
  // linger.ms holds each write up to 20 ms (kafka_sink.cc): 4 writes per stream left the
  // linger waiting on the stream instead of filling record batches; 16 (with 16 frames held)
  // took 1.1-1.2x the lines/s of 8 in bench_kafka.
  uint32_t WritesInFlight() const override { return 16; }
};

class KafkaSink final : public Sink {
 public:
  static Result<std::unique_ptr<Sink>> Create(const KafkaSinkConfig& config);
  ~KafkaSink() override;

  std::string_view name() const override { return "kafka"; }
  WriteResult Write(const DecodedBatch& batch) override;
  bool WantsReceivedFrame() const override { return config_.message_version >= 2; }
  bool WritesOnlyFrame(uint64_t frame_bytes, size_t principal_bytes) const override {
    return WantsReceivedFrame() && ForwardedValueBound(frame_bytes, principal_bytes) <= config_.max_message_bytes;
  }
  void RegisterMetrics(metrics::Registry& registry) override;
  Status HealthCheck() override;

  struct Delivery;  // one Write()'s messages in flight (kafka_sink.cc)

 private:
  explicit KafkaSink(const KafkaSinkConfig& config) : config_(config) {}
  void PollLoop();

  const KafkaSinkConfig config_;
  RdKafkaPtr producer_;
  std::atomic<bool> stop_{false};
  std::thread poller_;
  std::atomic<uint64_t> produced_{0}, delivery_errors_{0}, queue_bytes_{0}, split_batches_{0}, forwarded_{0};
};

}  // namespace logship::collector
