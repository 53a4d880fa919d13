#include "collector/sinks/sink_plugin.h"

#include "common/plugin_list.h"

namespace logship::collector {

const SinkPlugin* FindSinkPlugin(std::string_view type) { return FindPluginOfType(SinkPlugins(), type); }

std::string SinkTypeList() { return PluginTypeList(SinkPlugins()); }

}  // namespace logship::collector
