// At most one log line per interval for an event that a remote peer can repeat at will (a
// refused connection, a failed TLS handshake), with the count of those left out. Loop
// thread only.
#pragma once

#include <cstdint>
#include <string>

#include "common/clock.h"
#include "common/log.h"

namespace logship::agent::syslog {

class LogThrottle {
 public:
  explicit LogThrottle(int64_t interval_nanos = 10'000'000'000) : interval_(interval_nanos) {}

  void Warn(std::string_view component, const std::string& message) {
    const int64_t now = MonotonicNanos();
    if (logged_ && now - last_ < interval_) {
      ++suppressed_;
      return;
    }
    std::string line = message;
    if (suppressed_ > 0) line += " (" + std::to_string(suppressed_) + " more like it not logged)";
    LogWarn(component, line);
    logged_ = true;
    last_ = now;
    suppressed_ = 0;
  }

 private:
  const int64_t interval_;
  bool logged_ = false;
  int64_t last_ = 0;
  uint64_t suppressed_ = 0;
};

}  // namespace logship::agent::syslog
