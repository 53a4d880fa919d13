#include "collector/pipeline/extract_stage.h"

#include <cctype>
#include <climits>
#include <ctime>

#include "collector/model/severity.h"

namespace logship::collector {
namespace {

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {  // Howard Hinnant's algorithm
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[pos + i]))) return false;
    v = v * 10 + (s[pos + i] - '0');
  }
  *out = v;
  return true;
}

}  // namespace

int64_t ParseTimestampNanos(std::string_view s) {
  // Every result fits int64 nanoseconds since 1970 (1677-09-21 to 2262-04-11); anything
  // outside is unparseable (0), never an overflow.
  constexpr int64_t kMaxSeconds = INT64_MAX / 1000000000 - 1;
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  if (s.empty()) return 0;
  bool all_digits = true, dot = false;
  for (char c : s) {
    if (c == '.' && !dot) dot = true;
    else if (!std::isdigit(static_cast<unsigned char>(c))) all_digits = false;
  }
  if (all_digits) {
    // Integer arithmetic: a double cannot hold nanoseconds since 1970 exactly.
    const size_t dotpos = s.find('.');
    const std::string_view whole = s.substr(0, dotpos);
    if (whole.empty() || whole.size() > 19) return 0;
    uint64_t u = 0;
    for (char c : whole) u = u * 10 + static_cast<uint64_t>(c - '0');  // 19 digits fit uint64
    if (u == 0 || u > static_cast<uint64_t>(INT64_MAX)) return 0;
    const auto v = static_cast<int64_t>(u);
    int64_t frac_ns = 0;  // fraction of the unit, scaled to nanoseconds of that unit below
    int64_t scale = 100000000;
    if (dotpos != std::string_view::npos) {
      for (char c : s.substr(dotpos + 1)) {
        if (scale == 0) break;
        frac_ns += (c - '0') * scale;
        scale /= 10;
      }
    }
    if (v < 100000000000LL) return v > kMaxSeconds ? 0 : v * 1000000000 + frac_ns;  // seconds
    if (v < 100000000000000LL) return v * 1000000 + frac_ns / 1000;    // milliseconds
    if (v < 100000000000000000LL) return v * 1000 + frac_ns / 1000000; // microseconds
    return v;                                                          // nanoseconds
  }
  int Y, M, D, h, m, sec;
  if (!Digits(s, 0, 4, &Y) || s.size() < 19 || s[4] != '-' || !Digits(s, 5, 2, &M) || s[7] != '-' ||
      !Digits(s, 8, 2, &D) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !Digits(s, 11, 2, &h) ||
      s[13] != ':' || !Digits(s, 14, 2, &m) || s[16] != ':' || !Digits(s, 17, 2, &sec))
    return 0;
  if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60) return 0;
  size_t i = 19;
  int64_t frac = 0;
  if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
    ++i;
    int64_t scale = 100000000;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      frac += (s[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
  }
  int64_t offset = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh = 0, om = 0;
    const bool colon = i + 3 < s.size() && s[i + 3] == ':';
    if (!Digits(s, i + 1, 2, &oh) || !Digits(s, i + (colon ? 4 : 3), 2, &om)) return 0;
    offset = (s[i] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
  }
  const int64_t days = DaysFromCivil(Y, static_cast<unsigned>(M), static_cast<unsigned>(D));
  const int64_t secs = days * 86400 + h * 3600 + m * 60 + sec - offset;
  if (secs <= 0 || secs > kMaxSeconds) return 0;  // before 1970 is not a log time we keep
  return secs * 1000000000 + frac;
}


namespace {
constexpr std::string_view kTimeKeys[] = {"ts", "time", "timestamp", "@timestamp"};
constexpr std::string_view kSeverityKeys[] = {"level", "severity", "lvl", "log.level"};
}  // namespace

bool ExtractStage::SourceMayMatter(const logship::v1::Source& source) {
  for (const auto& kv : source.attributes())
    for (const auto* keys : {&kTimeKeys, &kSeverityKeys})
      for (std::string_view k : *keys)
        if (kv.key() == k) return true;
  return false;
}

bool ExtractStage::Apply(const RecordRef& r) const {
  auto* rec = r.record;
  if (rec->time_unix_nano() == 0) {
    for (std::string_view key : kTimeKeys) {
      if (const std::string* v = r.Attribute(key)) {
        if (const int64_t t = ParseTimestampNanos(*v); t > 0) {
          rec->set_time_unix_nano(static_cast<uint64_t>(t));
          break;
        }
      }
    }
  }
  if (rec->severity() == 0) {
    for (std::string_view key : kSeverityKeys) {
      if (const std::string* v = r.Attribute(key)) {
        if (const int32_t sev = SeverityFromText(*v); sev > 0) {
          rec->set_severity(sev);
          break;
        }
      }
    }
  }
  return true;
}

}  // namespace logship::collector
