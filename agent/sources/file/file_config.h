// `type: file` in agent.yaml (README "agent.yaml"). Parsing throws ConfigError.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/sources/file/container_format.h"
#include "agent/sources/file/multiline.h"
#include "agent/sources/source_plugin.h"

namespace logship::agent {

struct FileSourceConfig : SourceConfig {
  std::vector<std::string> include;             // glob patterns (required)
  std::vector<std::string> exclude;             // fnmatch patterns on the full path or base name
  bool start_at_beginning = false;              // for files present at the data_dir's first start
  uint64_t max_line_bytes = 1ull << 20;         // longer lines are split, flagged, never dropped
  uint64_t fingerprint_bytes = 1024;            // identity: hash of the first line, up to this
  std::chrono::milliseconds poll_interval{1000};// stat polling behind inotify; glob rescans
  std::chrono::milliseconds rotate_wait{5000};  // a rotated/deleted file is kept this long after its last growth
  bool follow_symlinks = false;                 // tail files behind links (and hard links of other users)
  std::optional<MultilineOptions> multiline;    // grouping of continuation lines
  ContainerFormat format = ContainerFormat::kPlain;  // container runtime records (container_format.h)
  // Checkpoint key "file:<name>": two sources tailing one file keep two positions.
};

// The keys after `type`, `name` and `attributes` of one `sources:` entry.
std::unique_ptr<SourceConfig> ParseFileSource(ConfigMap& m);

}  // namespace logship::agent
