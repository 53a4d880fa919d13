// Timestamps in log content: RFC 3339 (RFC 5424, CRI, Docker) and the BSD "Mmm dd hh:mm:ss" of RFC 3164,
// which has neither year nor zone. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace logship {

// What a parser needs to place a BSD timestamp: now, and the UTC offset the sender's local
// time is assumed to have (the agent's own: RFC 3164 senders log local time).
struct ParseClock {
  int64_t now_unix_nano = 0;
  int64_t utc_offset_seconds = 0;
};

// Days since 1970-01-01 of a proleptic Gregorian date (month 1..12, day 1..31).
int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day);

// An RFC 3339 date-time ("2003-10-11T22:14:15.003Z", "…+02:00"; `t`/`z` accepted, up to 9
// fraction digits). False when `text` is not one. A valid one outside 1970..2261 (what
// int64 nanoseconds hold) sets *unix_nano to 0: no event time rather than a wrong one.
bool ParseRfc3339(std::string_view text, int64_t* unix_nano);

// A BSD timestamp at the start of `text`: "Oct 11 22:14:15" or "Oct  1 22:14:15" (15
// characters), optionally followed by ".fff…" (up to 9 digits). Returns the characters used
// (0: none). The year is the one that puts the time nearest to `clock.now_unix_nano` (a
// December message read in January belongs to the previous year).
size_t ParseBsdTimestamp(std::string_view text, const ParseClock& clock, int64_t* unix_nano);

}  // namespace logship
