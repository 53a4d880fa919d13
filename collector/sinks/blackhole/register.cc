// The blackhole sink plugin (`sinks.blackhole`): decodes and counts, stores nothing.
#include "collector/sinks/blackhole/blackhole_sink.h"
#include "collector/sinks/sink_plugin.h"

namespace logship::collector::plugins {
namespace {

struct BlackholeConfig : SinkConfig {
  std::chrono::milliseconds delay{0};  // per batch: a slow sink, for tests
};

std::unique_ptr<SinkConfig> Parse(ConfigMap& m) {
  auto c = std::make_unique<BlackholeConfig>();
  c->delay = std::chrono::duration_cast<std::chrono::milliseconds>(
      m.Duration("delay", c->delay, std::chrono::milliseconds(0), std::chrono::milliseconds(60000)));
  return c;
}

Result<std::unique_ptr<Sink>> Create(const SinkConfig& config, const SinkContext&) {
  return std::unique_ptr<Sink>(std::make_unique<BlackholeSink>(static_cast<const BlackholeConfig&>(config).delay));
}

}  // namespace

const SinkPlugin& sink_blackhole() {
  static const SinkPlugin kPlugin{.type = "blackhole", .parse = &Parse, .create = &Create};
  return kPlugin;
}

}  // namespace logship::collector::plugins
