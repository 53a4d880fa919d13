// An input plugin: batches that come from somewhere other than the agents' streams (the
// indexer role reads them from Kafka) and go to the sinks through the collector's fan-out.
// One folder under collector/inputs/<type>/ holding its configuration and implementation and
// one register.cc; the collector knows inputs only through this file. The list of built-in
// plugins is the one line in collector/inputs/CMakeLists.txt.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "collector/delivery/batch_writer.h"
#include "common/config/config_node.h"
#include "common/metrics/registry.h"
#include "common/status.h"

namespace logship::collector {

// A running input. Start() and Stop() are called once each, from the main thread.
class Input {
 public:
  virtual ~Input() = default;
  virtual void Start() = 0;
  // Finishes or gives up the batch being written (the writer is interrupted first), records
  // what was written, and returns.
  virtual void Stop() = 0;
};

struct InputConfig {
  virtual ~InputConfig() = default;
  std::string type;  // the key under `inputs:`
  // Names where the input reads, compared with SinkConfig::Destination(): a collector that
  // would read what it writes is refused (a loop). "" when no sink writes there.
  virtual std::string Source() const { return {}; }
};

// What an input gets from the collector. Everything outlives the input.
struct InputContext {
  BatchWriter* writer = nullptr;
  metrics::Registry* registry = nullptr;
};

struct InputPlugin {
  std::string_view type;  // its key under `inputs:` in collector.yaml
  // Reads the plugin's keys into a config of the plugin's class. Throws ConfigError.
  std::unique_ptr<InputConfig> (*parse)(ConfigMap& section) = nullptr;
  // REQUIRES: `config` came from parse.
  Result<std::unique_ptr<Input>> (*create)(const InputConfig& config, const InputContext& context) = nullptr;
};

const std::vector<const InputPlugin*>& InputPlugins();
const InputPlugin* FindInputPlugin(std::string_view type);
std::string InputTypeList();

}  // namespace logship::collector
