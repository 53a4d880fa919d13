#include "collector/pipeline/stage_plugin.h"

namespace logship::collector {

const StagePlugin* FindStagePlugin(std::string_view type) {
  for (const StagePlugin* p : StagePlugins())
    if (p->type == type) return p;
  return nullptr;
}

std::string StageTypeList() {
  std::string out;
  const auto& all = StagePlugins();
  for (size_t i = 0; i < all.size(); ++i) {
    if (i > 0) out += i + 1 == all.size() ? " or " : ", ";
    out += all[i]->type;
  }
  return out;
}

}  // namespace logship::collector
