// The file source plugin (`type: file`).
#include "agent/sources/file/file_config.h"
#include "agent/sources/file/file_source.h"
#include "agent/sources/file/file_state.h"
#include "agent/sources/source_plugin.h"
#include "common/metrics/registry.h"

namespace logship::agent::plugins {
namespace {

std::unique_ptr<Source> Create(const SourceConfig& config, const SourceContext& context) {
  const auto& fc = static_cast<const FileSourceConfig&>(config);
  auto source = std::make_unique<FileSource>(fc, context);
  const metrics::Labels labels{{"source", fc.name}};
  context.registry->AddCallback("logship_agent_files_open", "Files a file source has open (tailed or being finished).",
                                labels, [p = source.get()] { return static_cast<double>(p->open_files()); });
  context.registry->AddCallback("logship_agent_directory_watches", "Directories a file source watches with inotify.",
                                labels, [p = source.get()] { return static_cast<double>(p->watched_directories()); });
  return source;
}

}  // namespace

const SourcePlugin& source_file() {
  static const SourcePlugin kPlugin{
      .type = FileState::kType,
      .parse = &ParseFileSource,
      .create = &Create,
      .new_state = [] { return std::unique_ptr<SourceState>(std::make_unique<FileState>()); },
      .upgrade = &FileState::Upgrade,
  };
  return kPlugin;
}

}  // namespace logship::agent::plugins
