#include "common/config/units.h"

#include <cmath>
#include <cstdlib>
#include <string>

namespace logship {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits "12.5MiB" into 12.5 and "MiB". nullopt when the number part is malformed.
std::optional<std::pair<double, std::string_view>> SplitNumber(std::string_view s) {
  s = Trim(s);
  size_t i = 0;
  bool digits = false, dot = false;
  while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || (s[i] == '.' && !dot))) {
    if (s[i] == '.') dot = true; else digits = true;
    ++i;
  }
  if (!digits) return std::nullopt;
  // strtod, not stod: a number too large must be a parse failure, not an exception.
  const std::string number(s.substr(0, i));
  const double v = std::strtod(number.c_str(), nullptr);
  if (!std::isfinite(v)) return std::nullopt;
  return std::make_pair(v, Trim(s.substr(i)));
}

}  // namespace

std::optional<uint64_t> ParseSize(std::string_view text) {
  auto parts = SplitNumber(text);
  if (!parts) return std::nullopt;
  auto [v, unit] = *parts;
  double mult = 0;
  if (unit.empty() || unit == "B") mult = 1;
  else if (unit == "KiB") mult = 1024.0;
  else if (unit == "MiB") mult = 1024.0 * 1024;
  else if (unit == "GiB") mult = 1024.0 * 1024 * 1024;
  else if (unit == "TiB") mult = 1024.0 * 1024 * 1024 * 1024;
  else if (unit == "KB") mult = 1e3;
  else if (unit == "MB") mult = 1e6;
  else if (unit == "GB") mult = 1e9;
  else if (unit == "TB") mult = 1e12;
  else return std::nullopt;
  const double bytes = std::floor(v * mult);
  if (!(bytes >= 0) || bytes > 9.0e18) return std::nullopt;
  return static_cast<uint64_t>(bytes);
}

std::optional<std::chrono::nanoseconds> ParseDuration(std::string_view text) {
  auto parts = SplitNumber(text);
  if (!parts) return std::nullopt;
  auto [v, unit] = *parts;
  double ns_per = 0;
  if (unit == "ns") ns_per = 1;
  else if (unit == "us") ns_per = 1e3;
  else if (unit == "ms") ns_per = 1e6;
  else if (unit == "s") ns_per = 1e9;
  else if (unit == "m") ns_per = 60e9;
  else if (unit == "h") ns_per = 3600e9;
  else if (unit.empty() && v == 0) ns_per = 1;
  else return std::nullopt;
  const double ns = v * ns_per;
  if (!(ns >= 0) || ns > 9.0e18) return std::nullopt;
  return std::chrono::nanoseconds(static_cast<int64_t>(ns));
}

}  // namespace logship
