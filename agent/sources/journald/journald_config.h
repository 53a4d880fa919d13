// `type: journald` in agent.yaml (README "agent.yaml"). Parsing throws ConfigError.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "agent/sources/source_plugin.h"

namespace logship::agent {

struct JournaldSourceConfig : SourceConfig {
  std::string directory;                         // empty: the system journal
  std::vector<std::string> units;                // _SYSTEMD_UNIT filter (any of)
  std::vector<int> priorities;                   // PRIORITY filter (any of), 0..7
  bool start_at_beginning = false;               // at the data_dir's first start
  uint64_t max_line_bytes = 1ull << 20;          // a longer MESSAGE is split into flagged parts
  std::chrono::milliseconds poll_interval{1000}; // fallback wake-up behind inotify

  // Checkpoint key: sources with different journals or filters keep separate cursors.
  std::string Key() const override;
};

// The keys after `type`, `name` and `attributes` of one `sources:` entry.
std::unique_ptr<SourceConfig> ParseJournaldSource(ConfigMap& m);

}  // namespace logship::agent
