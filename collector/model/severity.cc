#include "collector/model/severity.h"

#include <cctype>
#include <charconv>
#include <string>

namespace logship::collector {

int32_t SeverityFromText(std::string_view text) {
  if (text.size() > 16) return 0;
  std::string t;
  for (char c : text) t.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (t == "trace") return 1;
  if (t == "debug" || t == "dbg") return 5;
  if (t == "info" || t == "information" || t == "informational") return 9;
  if (t == "notice") return 10;
  if (t == "warn" || t == "warning") return 13;
  if (t == "error" || t == "err") return 17;
  if (t == "crit" || t == "critical") return 18;
  if (t == "alert") return 19;
  if (t == "fatal" || t == "emerg" || t == "emergency" || t == "panic") return 21;
  int v = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec == std::errc() && end == t.data() + t.size() && v >= 1 && v <= 24) return v;
  return 0;
}

const char* SeverityClassName(int32_t s) {
  if (s <= 0) return "unknown";
  if (s < 5) return "trace";
  if (s < 9) return "debug";
  if (s < 13) return "info";
  if (s < 17) return "warn";
  if (s < 21) return "error";
  return "fatal";
}

}  // namespace logship::collector
