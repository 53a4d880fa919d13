// The SQL of the log reader (the console's searches), built as text with $n placeholders plus
// a separate parameter list for PQexecParams. User input only ever travels as a parameter: the SQL text is made of
// constants, the (validated) table name and placeholder numbers. Pure functions, no I/O.
//
// Every query is bounded: a LIMIT (search, correlation, tail) or a bounded number of
// buckets (volume), and the connection's statement_timeout (PgReadPool).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "collector/model/log_reader.h"

namespace logship::collector::postgres {

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
}  // namespace logship::collector::postgres
