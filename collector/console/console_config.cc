#include "collector/console/console_config.h"

namespace logship::collector::console {

std::optional<ConsoleConfig> ParseConsoleConfig(const ConfigNode& node) {
  if (node.IsNull()) return std::nullopt;
  using std::chrono::milliseconds;
  ConfigMap m(node);
  ConsoleConfig c;
  const bool enabled = m.Bool("enabled", true);
  c.token_file = m.String("token_file", "");
  c.connections = static_cast<uint32_t>(m.Int("connections", c.connections, 1, 16));
  c.statement_timeout = std::chrono::duration_cast<milliseconds>(
      m.Duration("statement_timeout", c.statement_timeout, milliseconds(100), milliseconds(600000)));
  c.max_tail_streams = static_cast<uint32_t>(m.Int("max_tail_streams", c.max_tail_streams, 0, 32));
  c.tail_lines_per_second =
      static_cast<uint32_t>(m.Int("tail_lines_per_second", c.tail_lines_per_second, 1, 10000));
  if (enabled && c.token_file.empty())
    node.Fail("the console needs token_file (a file holding the bearer token)");
  m.Finish();
  if (!enabled) return std::nullopt;
  return c;
}

}  // namespace logship::collector::console
