// Severity as OpenTelemetry numbers (1-24; 0 unknown): parsing level names from log content
// and query parameters, and the six classes the console shows.
#pragma once

#include <cstdint>
#include <string_view>

namespace logship::collector {

// A level name (trace, debug, info, notice, warn, error, crit, alert, fatal, emerg, panic and
// common spellings, any case) or a number 1..24; 0 when unknown.
int32_t SeverityFromText(std::string_view text);
// 0 → "unknown", 1-4 trace, 5-8 debug, 9-12 info, 13-16 warn, 17-20 error, 21-24 fatal.
const char* SeverityClassName(int32_t severity);

}  // namespace logship::collector
