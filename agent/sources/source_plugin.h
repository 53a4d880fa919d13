// A source plugin: one folder under agent/sources/<type>/ holding its configuration, its
// implementation, its positions (SourceState) and one register.cc that defines its
// SourcePlugin. The agent knows plugins only through this struct; the list of built-in
// plugins is the one line in agent/sources/CMakeLists.txt.
#pragma once

#include <uv.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/checkpoint/source_state.h"
#include "agent/sources/source.h"
#include "common/config/config_node.h"

namespace logship::metrics {
class Registry;
}

namespace logship::agent {

class CheckpointStore;

// What every source is configured with; a plugin derives its own settings from it.
struct SourceConfig {
  virtual ~SourceConfig() = default;
  std::string type;        // the plugin's type
  std::string name;        // unique among the sources; metrics label; default "<type>-<index>"
  Attributes attributes;   // added to every record
  // Keys the source's positions in the checkpoint store; a source whose key changes starts
  // over (unless its plugin adopts the old positions). Default "<type>:<name>".
  virtual std::string Key() const { return type + ":" + name; }
};

// What a source gets from the agent. Everything outlives the source.
struct SourceContext {
  uv_loop_t* loop = nullptr;
  std::string agent_id;
  CheckpointStore* checkpoints = nullptr;  // this plugin's state: checkpoints->StateAs<…>(type)
  metrics::Registry* registry = nullptr;   // the source's own metrics, labelled source="<name>"
};

struct SourcePlugin {
  std::string_view type;  // `type:` in agent.yaml
  // Reads the plugin's own keys from a `sources:` entry (`type`, `name` and `attributes` are
  // the agent's) into a config of the plugin's class. Throws ConfigError.
  std::unique_ptr<SourceConfig> (*parse)(ConfigMap& entry) = nullptr;
  // REQUIRES: `config` came from parse.
  std::unique_ptr<Source> (*create)(const SourceConfig& config, const SourceContext& context) = nullptr;
  // The empty state of the plugin's positions; null for a plugin that keeps none.
  std::unique_ptr<SourceState> (*new_state)() = nullptr;
  // Converts positions a pre-plugin checkpoint stored in typed fields into a delta of the
  // plugin's state (appended to *delta); null when the plugin has none.
  void (*upgrade)(const v1::Checkpoints& legacy, std::string* delta) = nullptr;
};

// The built-in plugins, in registration order.
const std::vector<const SourcePlugin*>& SourcePlugins();
const SourcePlugin* FindSourcePlugin(std::string_view type);
// "file, journald or syslog": for error messages.
std::string SourceTypeList();
// For the checkpoint store.
SourceStateTypes SourceStateTypesOfPlugins();

}  // namespace logship::agent
