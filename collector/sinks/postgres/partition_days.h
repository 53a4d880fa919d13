// Days (UTC, counted from 1970-01-01) as the PostgreSQL sink names its daily partitions.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>

#include "common/time_format.h"

namespace logship::collector::postgres {

// A UTC day (days since the epoch) as in partition names, and as a date.
inline std::string DayName(int64_t day) { return FormatUtcDay(day, false); }
inline std::string DayDate(int64_t day) { return FormatUtcDay(day, true); }

inline int64_t Today() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count() /
         86400;
}

// "YYYYMMDD" → days since the epoch; -1 when it is not a date.
inline int64_t ParseDayName(const std::string& s) {
  if (s.size() != 8) return -1;
  std::tm tm{};
  if (std::sscanf(s.c_str(), "%4d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3) return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) / 86400;
}

}  // namespace logship::collector::postgres
