#include "common/time_format.h"

#include <cstdio>

namespace logship {

std::tm UtcCalendar(int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

int64_t FloorSeconds(int64_t unix_nanos) {
  return unix_nanos / 1000000000 - (unix_nanos % 1000000000 < 0 ? 1 : 0);
}

std::string FormatUtc(int64_t unix_nanos, int fraction_digits, char separator, bool zone) {
  const int64_t secs = FloorSeconds(unix_nanos);
  const int64_t frac = unix_nanos - secs * 1000000000;  // 0 ≤ frac < 1e9
  const std::tm tm = UtcCalendar(secs);
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02d%c%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                        tm.tm_mday, separator, tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (fraction_digits > 0) {
    int64_t scaled = frac;
    for (int i = fraction_digits; i < 9; ++i) scaled /= 10;
    n += std::snprintf(buf + n, sizeof buf - static_cast<size_t>(n), ".%0*lld", fraction_digits,
                       static_cast<long long>(scaled));
  }
  if (zone) buf[n++] = 'Z';
  return std::string(buf, static_cast<size_t>(n));
}

std::string FormatUtcDay(int64_t day, bool dashes) {
  const std::tm tm = UtcCalendar(day * 86400);
  char buf[32];
  std::snprintf(buf, sizeof buf, dashes ? "%04d-%02d-%02d" : "%04d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday);
  return buf;
}

}  // namespace logship
