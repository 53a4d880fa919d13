// The console's SQL, built as text with $n placeholders plus a separate parameter list for
// PQexecParams. User input only ever travels as a parameter: the SQL text is made of
// constants, the (validated) table name and placeholder numbers. Pure functions, no I/O.
//
// Every query is bounded: a LIMIT (search, correlation, tail) or a bounded number of
// buckets (volume), and the connection's statement_timeout (ReadPool).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace logship::collector::console {

struct SearchFilter {
  int64_t from_us = 0;  // ts >= from (Unix microseconds)
  int64_t to_us = 0;    // ts <  to
  std::string host, source, agent;
  std::string text;      // substring of body, case-insensitive (pg_trgm index when present)
  int min_severity = 0;  // OpenTelemetry severity number; 0 = any
  std::vector<std::pair<std::string, std::string>> attributes;  // attributes @> {"k": "v", ...}
};

// Position after the last record of a page: records strictly older come next.
struct Cursor {
  int64_t ts_us = 0;
  std::string id;  // uuid text
};

struct SqlQuery {
  std::string sql;
  std::vector<std::string> params;
};

// Columns every record query returns, in this order (see kRecordColumns in the .cc):
// id, ts (Unix µs), host, agent_id, source, severity, body, attributes (JSON), trace_id,
// correlation_id.
constexpr int kRecordColumnCount = 10;

// Newest first; limit + 1 rows are asked for so the caller knows whether a next page exists.
SqlQuery BuildSearch(const std::string& table, const SearchFilter& f, const std::optional<Cursor>& after, int limit);
// Every record whose trace_id or correlation_id is `id`, oldest first.
SqlQuery BuildCorrelation(const std::string& table, const std::string& id, int limit);
// Rows: bucket start (Unix s), severity class name, count. Ordered by bucket.
SqlQuery BuildVolume(const std::string& table, const SearchFilter& f, int64_t step_seconds);
// The newest `limit` records at or after since_us matching f (for the live tail).
SqlQuery BuildTail(const std::string& table, const SearchFilter& f, int64_t since_us, int limit);

// LIKE/ILIKE metacharacters (\ % _) escaped with a backslash.
std::string EscapeLike(const std::string& text);
// "warn" → 13 (the lowest number of the class); "17" → 17; unknown → -1.
int ParseSeverity(const std::string& text);
// 0 → "unknown", 1-4 trace, 5-8 debug, 9-12 info, 13-16 warn, 17-20 error, 21-24 fatal.
const char* SeverityName(int severity);

// "<ts_us>_<uuid>" ↔ Cursor. Parse returns nullopt for anything malformed.
std::string EncodeCursor(const Cursor& c);
std::optional<Cursor> ParseCursor(const std::string& text);

}  // namespace logship::collector::console
