// The `json` stage plugin.
#include "collector/pipeline/stage_plugin.h"
#include "collector/pipeline/stages/json/json_stage.h"

namespace logship::collector::plugins {
namespace {

std::unique_ptr<Stage> Parse(ConfigMap&, bool) { return std::make_unique<JsonStage>(); }

}  // namespace

const StagePlugin& stage_json() {
  static const StagePlugin kPlugin{.type = "json", .parse = &Parse};
  return kPlugin;
}

}  // namespace logship::collector::plugins
