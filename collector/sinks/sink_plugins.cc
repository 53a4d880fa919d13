#include "collector/sinks/sink_plugin.h"

namespace logship::collector {

const SinkPlugin* FindSinkPlugin(std::string_view type) {
  for (const SinkPlugin* p : SinkPlugins())
    if (p->type == type) return p;
  return nullptr;
}

std::string SinkTypeList() {
  std::string out;
  const auto& all = SinkPlugins();
  for (size_t i = 0; i < all.size(); ++i) {
    if (i > 0) out += i + 1 == all.size() ? " or " : ", ";
    out += all[i]->type;
  }
  return out;
}

}  // namespace logship::collector
