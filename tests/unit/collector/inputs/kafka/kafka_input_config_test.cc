#include <doctest/doctest.h>

#include "collector/collector_config.h"
#include "collector/inputs/kafka/kafka_input.h"
#include "collector/sinks/kafka/kafka_sink.h"
#include "tests/unit/testing/config_error.h"

namespace logship::collector {
namespace {

using testing::ConfigErrorOf;

TEST_CASE("kafka: the sink and the input parse with defaults") {
  const CollectorConfig c = ParseCollectorConfig(
      "sinks:\n  kafka: {brokers: [\"k1:9092\", \"k2:9092\"]}\n  blackhole: {}\n"
      "inputs:\n  kafka: {brokers: [\"k3:9092\"], topic: other, properties: {\"fetch.min.bytes\": \"1000\"}}\n",
      "c.yaml");
  const auto* k = c.SinkOf<KafkaSinkConfig>("kafka");
  REQUIRE(k != nullptr);
  CHECK(k->client.topic == "logship.records");
  CHECK(k->client.brokers.size() == 2);
  CHECK(k->delivery.required);
  CHECK(k->max_message_bytes == (1u << 20));
  REQUIRE(c.inputs.size() == 1);
  const auto& in = static_cast<const KafkaInputConfig&>(*c.inputs[0]);
  CHECK(in.type == "kafka");
  CHECK(in.group == "logship-indexers");
  CHECK(in.client.topic == "other");
  CHECK(in.client.properties.size() == 1);
}

TEST_CASE("kafka: an unknown input, a loop, a property logship sets, and no brokers are refused with the reason") {
  CHECK(ConfigErrorOf([] {
          ParseCollectorConfig("sinks: {kafka: {brokers: [\"b:1\", \"a:1\"]}}\n"
                               "inputs: {kafka: {brokers: [\"a:1\", \"b:1\"]}}\n",
                               "c.yaml");
        }).find("loop") != std::string::npos);
  // Another cluster, same topic name: a chain, not a loop.
  CHECK_NOTHROW(ParseCollectorConfig("sinks: {kafka: {brokers: [\"a:1\"]}}\ninputs: {kafka: {brokers: [\"c:1\"]}}\n", "c.yaml"));
  CHECK(ConfigErrorOf([] { ParseCollectorConfig("sinks: {blackhole: {}}\ninputs: {kafkaa: {}}\n", "c.yaml"); })
            .find("unknown key \"kafkaa\" (an input: kafka)") != std::string::npos);
  CHECK(ConfigErrorOf([] {
          ParseCollectorConfig("sinks: {kafka: {brokers: [\"a:1\"], properties: {acks: \"1\"}}}\n", "c.yaml");
        }).find("set by logship") != std::string::npos);
  CHECK(ConfigErrorOf([] {
          ParseCollectorConfig("sinks: {blackhole: {}}\ninputs: {kafka: {brokers: [], group: g}}\n", "c.yaml");
        }).find("brokers") != std::string::npos);
  CHECK(ConfigErrorOf([] {
          ParseCollectorConfig("sinks: {blackhole: {}}\ninputs: {kafka: {brokers: [\"a:1\"], grup: g}}\n", "c.yaml");
        }).find("grup") != std::string::npos);
}

}  // namespace
}  // namespace logship::collector
