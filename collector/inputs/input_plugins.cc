#include "collector/inputs/input_plugin.h"

#include "common/plugin_list.h"

namespace logship::collector {

const InputPlugin* FindInputPlugin(std::string_view type) { return FindPluginOfType(InputPlugins(), type); }

std::string InputTypeList() { return PluginTypeList(InputPlugins()); }

}  // namespace logship::collector
