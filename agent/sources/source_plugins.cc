#include "agent/sources/source_plugin.h"

namespace logship::agent {

const SourcePlugin* FindSourcePlugin(std::string_view type) {
  for (const SourcePlugin* p : SourcePlugins())
    if (p->type == type) return p;
  return nullptr;
}

std::string SourceTypeList() {
  std::string out;
  const auto& all = SourcePlugins();
  for (size_t i = 0; i < all.size(); ++i) {
    if (i > 0) out += i + 1 == all.size() ? " or " : ", ";
    out += all[i]->type;
  }
  return out;
}

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
