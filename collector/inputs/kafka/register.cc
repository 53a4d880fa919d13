// The Kafka input plugin (`inputs.kafka`, the indexer role; README "Kafka").
#include "collector/inputs/input_plugin.h"
#include "collector/inputs/kafka/kafka_input.h"

namespace logship::collector::plugins {
namespace {

Result<std::unique_ptr<Input>> Create(const InputConfig& config, const InputContext& context) {
  auto in = KafkaInput::Create(static_cast<const KafkaInputConfig&>(config), *context.writer, *context.registry);
  if (!in.ok()) return in.status();
  return std::unique_ptr<Input>(std::move(in).value());
}

}  // namespace

const InputPlugin& input_kafka() {
  static const InputPlugin kPlugin{.type = "kafka", .parse = &ParseKafkaInput, .create = &Create};
  return kPlugin;
}

}  // namespace logship::collector::plugins
