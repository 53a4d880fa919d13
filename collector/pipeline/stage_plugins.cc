#include "collector/pipeline/stage_plugin.h"

#include "common/plugin_list.h"

namespace logship::collector {

const StagePlugin* FindStagePlugin(std::string_view type) { return FindPluginOfType(StagePlugins(), type); }

std::string StageTypeList() { return PluginTypeList(StagePlugins()); }

}  // namespace logship::collector
