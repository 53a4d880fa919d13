// Syslog severities (RFC 5424 §6.2.1, journald PRIORITY) as OpenTelemetry severity numbers.
#pragma once

#include <cstdint>

namespace logship {

// 0 emerg … 7 debug; 0 (unknown) for anything else.
inline int32_t SeverityFromSyslogPriority(int priority) {
  switch (priority) {
    case 0: return 21;  // emerg → FATAL
    case 1: return 19;  // alert → ERROR3
    case 2: return 18;  // crit → ERROR2
    case 3: return 17;  // err → ERROR
    case 4: return 13;  // warning → WARN
    case 5: return 10;  // notice → INFO2
    case 6: return 9;   // info → INFO
    case 7: return 5;   // debug → DEBUG
    default: return 0;
  }
}

}  // namespace logship
