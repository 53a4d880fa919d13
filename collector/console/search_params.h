// Query-string parameters of /api/v1/search, /tail and /volume → a SearchFilter. Pure;
// every value is checked and bounded here (lengths, counts, ranges) so the handlers and
// the SQL never see anything unchecked.
//
//   from, to    RFC 3339 ("2026-11-22T16:00:00Z", fraction and ±hh:mm allowed), Unix
//               milliseconds, "now" or "now-15m" (s, m, h, d). Default: the last hour.
//   host, source, agent   exact match
//   severity    minimum: trace debug info warn error fatal, or 1..24
//   text        case-insensitive substring of the line (at most 256 bytes)
//   attr        "key=value", repeatable (at most 8): attributes contain {"key": "value"}
//   limit       1..500, default 100 (search)
//   cursor      from the previous page's next_cursor (search)
//   step        volume bucket, seconds (or 1m, 5m…); default: about 120 buckets; at most 1440
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "collector/model/log_reader.h"
#include "common/http/http_server.h"
#include "common/status.h"

namespace logship::collector::console {

struct SearchParams {
  SearchFilter filter;
  std::optional<Cursor> cursor;
  int limit = 100;
  int64_t step_seconds = 60;
};

constexpr int kMaxSearchLimit = 500;
constexpr int64_t kMaxVolumeBuckets = 1440;

// InvalidArgument with a message naming the parameter.
Result<SearchParams> ParseSearchParams(const http::Request& request, int64_t now_us);
// One time value (see above) → Unix microseconds.
Result<int64_t> ParseTime(const std::string& text, int64_t now_us);
// The `severity` parameter: "" or "any" → 0; a level name or 1..24; -1 when neither.
int ParseSeverityParam(const std::string& text);
// "<ts_us>_<uuid>" ↔ Cursor. Parse returns nullopt for anything malformed.
std::string EncodeCursor(const Cursor& c);
std::optional<Cursor> ParseCursor(const std::string& text);

}  // namespace logship::collector::console
