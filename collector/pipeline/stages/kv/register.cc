// The `kv` stage plugin.
#include "collector/pipeline/stage_plugin.h"
#include "collector/pipeline/stages/kv/kv_stage.h"

namespace logship::collector::plugins {
namespace {

char SingleChar(ConfigMap& m, const std::string& key, char def) {
  auto n = m.Optional(key);
  if (n.IsNull()) return def;
  const std::string v = n.AsString();
  if (v.size() != 1) n.Fail("must be a single character");
  return v[0];
}

std::unique_ptr<Stage> Parse(ConfigMap& m, bool) {
  return std::make_unique<KvStage>(SingleChar(m, "separator", '='), SingleChar(m, "delimiter", ' '));
}

}  // namespace

const StagePlugin& stage_kv() {
  static const StagePlugin kPlugin{.type = "kv", .parse = &Parse};
  return kPlugin;
}

}  // namespace logship::collector::plugins
