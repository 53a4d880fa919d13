// A stage plugin: one folder under collector/pipeline/stages/<type>/ holding the stage and
// one register.cc that defines its StagePlugin. The pipeline knows stages only through this
// struct; the list of built-in plugins is the one line in collector/pipeline/stages/CMakeLists.txt.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "collector/pipeline/stage.h"
#include "common/config/config_node.h"

namespace logship::collector {

struct StagePlugin {
  std::string_view type;  // its key in a `pipeline:` entry
  // Builds the stage from its section, from which the pipeline has already read `when`
  // (an empty map for `json:`); the pipeline Finish()es the map afterwards, so a key the
  // plugin does not read is an error. `has_when`: whether the entry had a condition.
  // Throws ConfigError.
  std::unique_ptr<Stage> (*parse)(ConfigMap& section, bool has_when) = nullptr;
};

// The built-in plugins, in registration order.
const std::vector<const StagePlugin*>& StagePlugins();
const StagePlugin* FindStagePlugin(std::string_view type);
// "json, regex, kv, set or drop": for error messages.
std::string StageTypeList();

}  // namespace logship::collector
