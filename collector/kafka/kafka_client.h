// What the Kafka sink and the Kafka input share: the `brokers`/`topic`/`properties` keys, and
// librdkafka handles as RAII values. librdkafka handles are thread-safe.
#pragma once

#include <librdkafka/rdkafka.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/config/config_node.h"
#include "common/status.h"

namespace logship::collector {

using KafkaProperties = std::vector<std::pair<std::string, std::string>>;

struct KafkaClientConfig {
  std::vector<std::string> brokers;        // bootstrap.servers (required)
  std::string topic = "logship.records";
  KafkaProperties properties;              // any librdkafka property, the operator's
};

// "kafka:<sorted brokers>/<topic>": the same for a sink and an input on one topic of one cluster.
std::string KafkaDestination(const KafkaClientConfig& config);

// Reads `brokers`, `topic` and `properties`. `reserved`: properties logship sets itself
// (correctness depends on them); naming one is a ConfigError. Throws ConfigError.
void ParseKafkaClient(ConfigMap& m, const std::vector<std::string>& reserved, KafkaClientConfig* out);

struct RdKafkaDeleter {
  void operator()(rd_kafka_t* k) const { rd_kafka_destroy(k); }
};
using RdKafkaPtr = std::unique_ptr<rd_kafka_t, RdKafkaDeleter>;

// A client of `type`: bootstrap.servers, then `defaults` (which the operator's properties may
// change), the operator's properties, then `fixed` (which they may not). The conf goes to
// `configure` (callbacks, opaque) before the client takes it. Errors name the property.
Result<RdKafkaPtr> NewKafkaClient(rd_kafka_type_t type, const KafkaClientConfig& config, const KafkaProperties& defaults,
                                  const KafkaProperties& fixed, void (*configure)(rd_kafka_conf_t*, void*) = nullptr,
                                  void* opaque = nullptr);

// Whether the brokers answer and know `topic` (metadata request, bounded by `timeout_ms`);
// the error names the brokers or the topic.
Status KafkaTopicReachable(rd_kafka_t* client, const KafkaClientConfig& config, int timeout_ms);

}  // namespace logship::collector
