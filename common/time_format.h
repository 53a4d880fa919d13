// UTC time as text: every place that writes a timestamp or a date (logs, sinks, dead
// letters, the console) formats it here. Negative times (before 1970) floor correctly.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>

namespace logship {

// Calendar fields (UTC) of a Unix time in seconds.
std::tm UtcCalendar(int64_t unix_seconds);
// Seconds of a Unix time in nanoseconds, rounded down (also below zero).
int64_t FloorSeconds(int64_t unix_nanos);

// "2026-11-22T16:00:12Z", with `fraction_digits` (0, 3, 6 or 9) after a dot before the Z:
// ".123Z", ".123456Z", ".123456789Z". `separator` ' ' and `zone` false give PostgreSQL's
// text form ("2026-11-22 16:00:12.123456").
std::string FormatUtc(int64_t unix_nanos, int fraction_digits, char separator = 'T', bool zone = true);
// A day since 1970-01-01 as "2026-11-22" (dashes) or "20261122".
std::string FormatUtcDay(int64_t day, bool dashes);

}  // namespace logship
