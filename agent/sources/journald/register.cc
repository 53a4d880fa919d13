// The journald source plugin (`type: journald`).
#include "agent/sources/journald/journald_config.h"
#include "agent/sources/journald/journald_source.h"
#include "agent/sources/journald/journald_state.h"
#include "agent/sources/source_plugin.h"
#include "common/metrics/registry.h"

namespace logship::agent::plugins {
namespace {

std::unique_ptr<Source> Create(const SourceConfig& config, const SourceContext& context) {
  const auto& jc = static_cast<const JournaldSourceConfig&>(config);
  auto source = std::make_unique<JournaldSource>(jc, context);
  const metrics::Labels labels{{"source", jc.name}};
  context.registry->AddCallback("logship_agent_journald_cursor_gaps_total",
                                "Times a checkpointed journal cursor was gone and reading restarted at the oldest entry.",
                                labels, [p = source.get()] { return static_cast<double>(p->cursor_gaps()); });
  context.registry->AddCallback("logship_agent_journald_errors_total", "Journal entries that could not be read.",
                                labels, [p = source.get()] { return static_cast<double>(p->errors()); });
  return source;
}

}  // namespace

const SourcePlugin& source_journald() {
  static const SourcePlugin kPlugin{
      .type = JournaldState::kType,
      .parse = &ParseJournaldSource,
      .create = &Create,
      .new_state = [] { return std::unique_ptr<SourceState>(std::make_unique<JournaldState>()); },
      .upgrade = &JournaldState::Upgrade,
  };
  return kPlugin;
}

}  // namespace logship::agent::plugins
