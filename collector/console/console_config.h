// The `console:` section of collector.yaml: the web console and its JSON API on the
// collector's HTTP listener. Absent or `enabled: false` → off.
//
//   console: {enabled: true, token_file: /etc/logship/console.token,
//             connections: 2, statement_timeout: 5s, max_tail_streams: 4}
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "common/config/config_node.h"

namespace logship::collector::console {

struct ConsoleConfig {
  std::string token_file;                            // one bearer token (first line); required
  uint32_t connections = 2;                          // read connections, separate from the writers'
  std::chrono::milliseconds statement_timeout{10000};  // every console query
  uint32_t max_tail_streams = 4;                     // live tails open at once
  uint32_t tail_lines_per_second = 100;              // per live tail; more are skipped (and said so)
};

// nullopt when the node is null or `enabled` is false. Throws ConfigError.
std::optional<ConsoleConfig> ParseConsoleConfig(const ConfigNode& node);

}  // namespace logship::collector::console
