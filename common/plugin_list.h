// Lookups over a built-in plugin list (sources, stages, sinks): each plugin struct has a
// `std::string_view type`, its key in the configuration.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace logship {

// The plugin of `type`, or nullptr.
template <typename Plugin>
const Plugin* FindPluginOfType(const std::vector<const Plugin*>& all, std::string_view type) {
  for (const Plugin* p : all)
    if (p->type == type) return p;
  return nullptr;
}

// "a, b or c": the types, for error messages.
template <typename Plugin>
std::string PluginTypeList(const std::vector<const Plugin*>& all) {
  std::string out;
  for (size_t i = 0; i < all.size(); ++i) {
    if (i > 0) out += i + 1 == all.size() ? " or " : ", ";
    out += all[i]->type;
  }
  return out;
}

}  // namespace logship
