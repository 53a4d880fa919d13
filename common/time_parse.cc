#include "common/time_parse.h"

#include <array>
#include <cstdlib>

namespace logship {
namespace {

constexpr int64_t kNanos = 1'000'000'000;
constexpr int64_t kMinYear = 1970;
constexpr int64_t kMaxYear = 2261;  // int64 nanoseconds end in April 2262

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t year, unsigned month) {
  static constexpr std::array<unsigned, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeap(year) ? 29 : kDays[month - 1];
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// `n` digits at text[pos]; false when any is not a digit.
bool Digits(std::string_view text, size_t pos, size_t n, int* out) {
  if (pos + n > text.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = text[pos + i];
    if (!IsDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

// ".ddd…" at text[*pos] (1..9 digits) as nanoseconds; absent is 0. False on "." alone.
bool Fraction(std::string_view text, size_t* pos, int64_t* nanos) {
  *nanos = 0;
  if (*pos >= text.size() || text[*pos] != '.') return true;
  size_t i = *pos + 1, n = 0;
  int64_t v = 0;
  for (; i < text.size() && IsDigit(text[i]); ++i, ++n) {
    if (n < 9) v = v * 10 + (text[i] - '0');
  }
  if (n == 0 || n > 9) return false;
  for (size_t k = n; k < 9; ++k) v *= 10;
  *nanos = v;
  *pos = i;
  return true;
}

struct Civil {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
};

bool ValidTime(const Civil& c) {
  // Second 60: RFC 5424 forbids leap seconds, but a sender that writes one means the end
  // of that minute; it is accepted and lands on the next one.
  return c.hour <= 23 && c.minute <= 59 && c.second <= 60;
}

int64_t SecondsOf(const Civil& c) {
  return DaysFromCivil(c.year, static_cast<unsigned>(c.month), static_cast<unsigned>(c.day)) * 86400 +
         c.hour * 3600 + c.minute * 60 + c.second;
}

// Month abbreviation ("Jan" … "Dec", exactly as RFC 3164 writes them) → 1..12, else 0.
int MonthOf(std::string_view m) {
  static constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (size_t i = 0; i < kMonths.size(); ++i)
    if (m == kMonths[i]) return static_cast<int>(i) + 1;
  return 0;
}

}  // namespace

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  // Howard Hinnant's days_from_civil: exact for the proleptic Gregorian calendar.
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool ParseRfc3339(std::string_view t, int64_t* unix_nano) {
  Civil c;
  if (!Digits(t, 0, 4, &c.year) || t.size() < 19 || t[4] != '-' || !Digits(t, 5, 2, &c.month) || t[7] != '-' ||
      !Digits(t, 8, 2, &c.day) || (t[10] != 'T' && t[10] != 't') || !Digits(t, 11, 2, &c.hour) || t[13] != ':' ||
      !Digits(t, 14, 2, &c.minute) || t[16] != ':' || !Digits(t, 17, 2, &c.second))
    return false;
  if (c.month < 1 || c.month > 12 || c.day < 1 || !ValidTime(c)) return false;
  if (static_cast<unsigned>(c.day) > DaysInMonth(c.year, static_cast<unsigned>(c.month))) return false;
  size_t pos = 19;
  int64_t nanos = 0;
  if (!Fraction(t, &pos, &nanos)) return false;
  int64_t offset = 0;
  if (pos + 1 == t.size() && (t[pos] == 'Z' || t[pos] == 'z')) {
    pos += 1;
  } else if (pos + 6 == t.size() && (t[pos] == '+' || t[pos] == '-') && t[pos + 3] == ':') {
    int oh = 0, om = 0;
    if (!Digits(t, pos + 1, 2, &oh) || !Digits(t, pos + 4, 2, &om) || oh > 23 || om > 59) return false;
    offset = (t[pos] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    pos += 6;
  } else {
    return false;  // TIME-OFFSET is required
  }
  *unix_nano = 0;
  if (c.year < kMinYear || c.year > kMaxYear) return true;
  const int64_t seconds = SecondsOf(c) - offset;
  if (seconds < 0) return true;
  *unix_nano = seconds * kNanos + nanos;
  return true;
}

size_t ParseBsdTimestamp(std::string_view t, const ParseClock& clock, int64_t* unix_nano) {
  // "Mmm dd hh:mm:ss": the day is space-padded ("Oct  1"); "Oct 01" is accepted too.
  if (t.size() < 15 || t[3] != ' ' || t[6] != ' ' || t[9] != ':' || t[12] != ':') return 0;
  Civil c;
  c.month = MonthOf(t.substr(0, 3));
  if (c.month == 0) return 0;
  if (t[4] == ' ') {
    if (!Digits(t, 5, 1, &c.day)) return 0;
  } else if (!Digits(t, 4, 2, &c.day)) {
    return 0;
  }
  if (!Digits(t, 7, 2, &c.hour) || !Digits(t, 10, 2, &c.minute) || !Digits(t, 13, 2, &c.second)) return 0;
  if (c.day < 1 || c.day > 31 || !ValidTime(c)) return 0;
  size_t used = 15;
  int64_t nanos = 0;
  if (!Fraction(t, &used, &nanos)) return 0;
  // The year: of the three around now's (local) year, the one nearest to now.
  const int64_t now_local = clock.now_unix_nano / kNanos + clock.utc_offset_seconds;
  int64_t days = now_local / 86400;
  // civil_from_days's year, enough for the estimate: a year off is covered by the ±1.
  const int64_t year_now = kMinYear + (days * 400) / 146097;
  bool found = false;
  int64_t best = 0, best_distance = 0;
  for (int64_t y = year_now - 2; y <= year_now + 2; ++y) {
    c.year = static_cast<int>(y);
    if (y < kMinYear || y > kMaxYear || static_cast<unsigned>(c.day) > DaysInMonth(y, static_cast<unsigned>(c.month)))
      continue;  // Feb 29 exists only in leap years
    const int64_t local = SecondsOf(c);
    const int64_t distance = std::llabs(local - now_local);
    if (!found || distance < best_distance) {
      found = true;
      best = local;
      best_distance = distance;
    }
  }
  if (!found) return 0;
  const int64_t seconds = best - clock.utc_offset_seconds;
  *unix_nano = seconds < 0 ? 0 : seconds * kNanos + nanos;
  return used;
}

}  // namespace logship
