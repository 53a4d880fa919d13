#include "agent/sources/journald/journald_config.h"

namespace logship::agent {

std::unique_ptr<SourceConfig> ParseJournaldSource(ConfigMap& m) {
  using std::chrono::milliseconds;
  auto j = std::make_unique<JournaldSourceConfig>();
  j->directory = m.String("directory", "");
  if (!j->directory.empty() && j->directory[0] != '/') m.Require("directory").Fail("must be an absolute path");
  if (auto n = m.Optional("units"); !n.IsNull()) j->units = n.AsStringList();
  if (auto n = m.Optional("priorities"); !n.IsNull()) {
    static const std::vector<std::string> kNames = {"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"};
    for (const auto& item : n.AsSequence()) {
      const std::string v = item.AsString();
      int p = -1;
      for (size_t i = 0; i < kNames.size(); ++i)
        if (v == kNames[i] || v == std::to_string(i)) p = static_cast<int>(i);
      if (p < 0) item.Fail("priority must be 0..7 or one of emerg, alert, crit, err, warning, notice, info, debug");
      j->priorities.push_back(p);
    }
  }
  j->start_at_beginning = m.Enum("start_at", {"end", "beginning"}, 0) == 1;
  j->max_line_bytes = m.Size("max_line_bytes", j->max_line_bytes, 256, 16ull << 20);
  j->poll_interval = std::chrono::duration_cast<milliseconds>(
      m.Duration("poll_interval", j->poll_interval, milliseconds(50), milliseconds(60000)));
  return j;
}

std::string JournaldSourceConfig::Key() const {
  std::string k = "journald:" + (directory.empty() ? std::string("system") : directory) + "|units=";
  for (const auto& u : units) k += u + ",";
  k += "|priorities=";
  for (int p : priorities) k += std::to_string(p) + ",";
  return k;
}

}  // namespace logship::agent
