#include "collector/console/search_params.h"

#include <cctype>
#include <charconv>
#include <ctime>

#include "collector/model/severity.h"
#include "common/utf8.h"

namespace logship::collector::console {
namespace {

constexpr int64_t kSecond = 1000000;

bool ParseInt(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

// "15m" → seconds; "90" → 90.
std::optional<int64_t> ParseSeconds(std::string_view s) {
  int64_t unit = 1;
  if (!s.empty()) {
    switch (s.back()) {
      case 's': unit = 1; s.remove_suffix(1); break;
      case 'm': unit = 60; s.remove_suffix(1); break;
      case 'h': unit = 3600; s.remove_suffix(1); break;
      case 'd': unit = 86400; s.remove_suffix(1); break;
      default: break;
    }
  }
  int64_t n = 0;
  if (!ParseInt(s, &n) || n < 0 || n > 100LL * 365 * 86400 / unit) return std::nullopt;
  return n * unit;
}

std::optional<int64_t> ParseRfc3339(const std::string& s) {
  int y, mo, d, h, mi, sec, consumed = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &consumed) != 6 ||
      consumed != 19)
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || y < 1970 || y > 9999)
    return std::nullopt;
  size_t i = 19;
  int64_t micros = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (digits < 6) micros = micros * 10 + (s[i] - '0');
      ++digits;
      ++i;
    }
    if (digits == 0) return std::nullopt;
    for (int k = digits; k < 6; ++k) micros *= 10;
  }
  int64_t offset = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i + 6 == s.size() && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
    int64_t oh = 0, om = 0;
    if (!ParseInt(std::string_view(s).substr(i + 1, 2), &oh) || !ParseInt(std::string_view(s).substr(i + 4, 2), &om))
      return std::nullopt;
    offset = (oh * 3600 + om * 60) * (s[i] == '+' ? 1 : -1);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  const int64_t secs = static_cast<int64_t>(timegm(&tm)) - offset;
  return secs * kSecond + micros;
}

Status Invalid(const std::string& param, const std::string& why) {
  return Status::InvalidArgument("parameter " + param + ": " + why);
}

}  // namespace

Result<int64_t> ParseTime(const std::string& text, int64_t now_us) {
  if (text == "now") return now_us;
  if (text.rfind("now-", 0) == 0) {
    auto secs = ParseSeconds(std::string_view(text).substr(4));
    if (!secs) return Status::InvalidArgument("bad relative time \"" + text.substr(0, 40) + "\"");
    return now_us - *secs * kSecond;
  }
  int64_t ms = 0;
  if (ParseInt(text, &ms)) {
    if (ms < 0 || ms > 253402300799999) return Status::InvalidArgument("time out of range");
    return ms * 1000;
  }
  if (auto t = ParseRfc3339(text)) return *t;
  return Status::InvalidArgument("bad time \"" + text.substr(0, 40) + "\" (RFC 3339, Unix ms or now-15m)");
}

Result<SearchParams> ParseSearchParams(const http::Request& request, int64_t now_us) {
  SearchParams p;
  SearchFilter& f = p.filter;
  f.to_us = now_us;
  if (request.HasArg("to") && !request.Arg("to").empty()) {
    auto t = ParseTime(request.Arg("to"), now_us);
    if (!t.ok()) return Invalid("to", t.status().message());
    f.to_us = *t;
  }
  f.from_us = f.to_us - 3600 * kSecond;
  if (request.HasArg("from") && !request.Arg("from").empty()) {
    auto t = ParseTime(request.Arg("from"), now_us);
    if (!t.ok()) return Invalid("from", t.status().message());
    f.from_us = *t;
  }
  if (f.from_us >= f.to_us) return Invalid("from", "must be before to");
  auto text_param = [&](const char* name, size_t max, std::string* out) -> Status {
    *out = request.Arg(name);
    if (out->size() > max) return Invalid(name, "longer than " + std::to_string(max) + " bytes");
    if (out->find('\0') != std::string::npos) return Invalid(name, "contains a NUL byte");
    if (ValidUtf8Prefix(*out) != out->size()) return Invalid(name, "is not valid UTF-8");
    return Status::Ok();
  };
  if (Status s = text_param("host", 1024, &f.host); !s.ok()) return s;
  if (Status s = text_param("source", 4096, &f.source); !s.ok()) return s;
  if (Status s = text_param("agent", 1024, &f.agent); !s.ok()) return s;
  if (Status s = text_param("text", 256, &f.text); !s.ok()) return s;
  f.min_severity = ParseSeverityParam(request.Arg("severity"));
  if (f.min_severity < 0) return Invalid("severity", "expected trace, debug, info, warn, error, fatal or 1..24");
  for (const auto& [key, value] : request.query) {
    if (key != "attr" || value.empty()) continue;
    const size_t eq = value.find('=');
    if (eq == std::string::npos || eq == 0) return Invalid("attr", "expected key=value");
    if (f.attributes.size() == 8) return Invalid("attr", "at most 8 attribute filters");
    if (value.size() > 1024 || value.find('\0') != std::string::npos || ValidUtf8Prefix(value) != value.size())
      return Invalid("attr", "too long, has a NUL or is not valid UTF-8");
    f.attributes.emplace_back(value.substr(0, eq), value.substr(eq + 1));
  }
  if (request.HasArg("limit")) {
    int64_t n = 0;
    if (!ParseInt(request.Arg("limit"), &n) || n < 1 || n > kMaxSearchLimit)
      return Invalid("limit", "expected 1.." + std::to_string(kMaxSearchLimit));
    p.limit = static_cast<int>(n);
  }
  if (request.HasArg("cursor") && !request.Arg("cursor").empty()) {
    p.cursor = ParseCursor(request.Arg("cursor"));
    if (!p.cursor) return Invalid("cursor", "malformed (pass next_cursor back unchanged)");
  }
  const int64_t range_s = (f.to_us - f.from_us + kSecond - 1) / kSecond;
  const int64_t min_step = std::max<int64_t>(1, (range_s + kMaxVolumeBuckets - 1) / kMaxVolumeBuckets);
  if (request.HasArg("step") && !request.Arg("step").empty()) {
    auto s = ParseSeconds(request.Arg("step"));
    if (!s || *s < 1) return Invalid("step", "expected seconds, or 1m, 5m, 1h");
    if (*s < min_step) return Invalid("step", "at most " + std::to_string(kMaxVolumeBuckets) + " buckets: use " +
                                                std::to_string(min_step) + "s or more");
    p.step_seconds = *s;
  } else {
    // About 120 buckets, on a round step.
    static const int64_t kSteps[] = {1, 5, 10, 30, 60, 300, 600, 1800, 3600, 10800, 21600, 43200, 86400};
    p.step_seconds = 86400;
    for (int64_t s : kSteps)
      if (s * 120 >= range_s) {
        p.step_seconds = s;
        break;
      }
    p.step_seconds = std::max(p.step_seconds, min_step);
  }
  return p;
}

int ParseSeverityParam(const std::string& text) {
  if (text.empty() || text == "any" || text == "0") return 0;
  const int32_t s = SeverityFromText(text);
  return s == 0 ? -1 : s;
}

std::string EncodeCursor(const Cursor& c) { return std::to_string(c.ts_us) + "_" + c.id; }

std::optional<Cursor> ParseCursor(const std::string& text) {
  const size_t sep = text.find('_');
  if (sep == std::string::npos || sep == 0) return std::nullopt;
  Cursor c;
  auto [end, ec] = std::from_chars(text.data(), text.data() + sep, c.ts_us);
  if (ec != std::errc() || end != text.data() + sep) return std::nullopt;
  c.id = text.substr(sep + 1);
  // A canonical uuid: 8-4-4-4-12 hex digits.
  if (c.id.size() != 36) return std::nullopt;
  for (size_t i = 0; i < c.id.size(); ++i) {
    const char ch = c.id[i];
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? ch != '-' : !std::isxdigit(static_cast<unsigned char>(ch))) return std::nullopt;
  }
  return c;
}

}  // namespace logship::collector::console
