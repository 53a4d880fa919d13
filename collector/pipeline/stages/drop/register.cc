// The `drop` stage plugin.
#include "collector/pipeline/stage_plugin.h"
#include "collector/pipeline/stages/drop/drop_stage.h"

namespace logship::collector::plugins {
namespace {

std::unique_ptr<Stage> Parse(ConfigMap& m, bool has_when) {
  if (!has_when) m.node().Fail("drop needs a when condition (dropping everything is surely a mistake)");
  return std::make_unique<DropStage>();
}

}  // namespace

const StagePlugin& stage_drop() {
  static const StagePlugin kPlugin{.type = "drop", .parse = &Parse};
  return kPlugin;
}

}  // namespace logship::collector::plugins
