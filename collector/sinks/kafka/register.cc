// The Kafka sink plugin (`sinks.kafka`, README "Kafka").
#include "collector/sinks/kafka/kafka_sink.h"
#include "collector/sinks/sink_plugin.h"

namespace logship::collector::plugins {
namespace {

std::unique_ptr<SinkConfig> Parse(ConfigMap& m) {
  auto c = std::make_unique<KafkaSinkConfig>();
  ParseKafkaClient(m, {"enable.idempotence", "acks", "message.timeout.ms", "message.max.bytes", "bootstrap.servers"},
                   &c->client);
  c->delivery_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
      m.Duration("delivery_timeout", c->delivery_timeout, std::chrono::seconds(1), std::chrono::hours(1)));
  c->max_message_bytes = m.Size("max_message_bytes", c->max_message_bytes, 64u << 10, 512u << 20);
  c->message_version = static_cast<int>(m.Int("message_version", c->message_version, 1, 2));
  return c;
}

Result<std::unique_ptr<Sink>> Create(const SinkConfig& config, const SinkContext&) {
  return KafkaSink::Create(static_cast<const KafkaSinkConfig&>(config));
}

}  // namespace

const SinkPlugin& sink_kafka() {
  // Retried here for a while before the batch goes back to its agent: a leader election
  // takes seconds.
  static const SinkPlugin kPlugin{
      .type = "kafka", .parse = &Parse, .create = &Create, .default_retry_budget = std::chrono::seconds(10)};
  return kPlugin;
}

}  // namespace logship::collector::plugins
