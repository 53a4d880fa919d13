#include "agent/sources/source_plugin.h"

#include "common/plugin_list.h"

namespace logship::agent {

const SourcePlugin* FindSourcePlugin(std::string_view type) { return FindPluginOfType(SourcePlugins(), type); }

std::string SourceTypeList() { return PluginTypeList(SourcePlugins()); }

SourceStateTypes SourceStateTypesOfPlugins() {
  SourceStateTypes t;
  t.create = [](std::string_view type) -> std::unique_ptr<SourceState> {
    const SourcePlugin* p = FindSourcePlugin(type);
    return p != nullptr && p->new_state != nullptr ? p->new_state() : nullptr;
  };
  t.upgrade = [](const v1::Checkpoints& legacy, v1::Checkpoints* upgraded) {
    for (const SourcePlugin* p : SourcePlugins()) {
      if (p->upgrade == nullptr) continue;
      std::string delta;
      p->upgrade(legacy, &delta);
      if (!delta.empty()) (*upgraded->mutable_states())[std::string(p->type)] = std::move(delta);
    }
  };
  return t;
}

}  // namespace logship::agent
