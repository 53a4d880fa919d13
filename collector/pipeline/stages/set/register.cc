// The `set` stage plugin.
#include "collector/pipeline/stage_plugin.h"
#include "collector/pipeline/stages/set/set_stage.h"

namespace logship::collector::plugins {
namespace {

// Every key but `when` is an attribute to set.
std::unique_ptr<Stage> Parse(ConfigMap& m, bool) {
  std::vector<std::pair<std::string, std::string>> values;
  if (!m.node().IsMap()) m.node().Fail("expected a mapping of attribute names to values");
  for (const auto& kv : m.node().raw()) {
    const std::string key = kv.first.Scalar();
    if (key != "when") values.emplace_back(key, m.Require(key).AsString());
  }
  if (values.empty()) m.node().Fail("set needs at least one attribute");
  return std::make_unique<SetStage>(std::move(values));
}

}  // namespace

const StagePlugin& stage_set() {
  static const StagePlugin kPlugin{.type = "set", .parse = &Parse};
  return kPlugin;
}

}  // namespace logship::collector::plugins
