// Reading stored records back (the web console's searches, tails and volume chart). A sink
// that can be read implements it (the PostgreSQL sink); the console knows only this.
//
// Every query is bounded by the caller's limit (or a bounded number of buckets) and by the
// reader's own statement timeout. Thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace logship::collector {

struct SearchFilter {
  int64_t from_us = 0;  // ts >= from (Unix microseconds)
  int64_t to_us = 0;    // ts <  to
  std::string host, source, agent;
  std::string text;      // substring of body, case-insensitive
  int min_severity = 0;  // OpenTelemetry severity number; 0 = any
  std::vector<std::pair<std::string, std::string>> attributes;  // attributes contain {"k": "v", ...}
};

// Position after the last record of a page: records strictly older come next.
struct Cursor {
  int64_t ts_us = 0;
  std::string id;  // uuid text
};

struct StoredRecord {
  std::string id;  // uuid text
  int64_t ts_us = 0;
  std::string host, agent_id, source;
  int severity = 0;
  std::string body;
  std::string attributes_json;  // a JSON object
  std::string trace_id, correlation_id;
};

struct VolumeBucket {
  int64_t start_s = 0;         // Unix seconds
  std::string severity_class;  // SeverityClassName
  int64_t count = 0;
};

class LogReader {
 public:
  virtual ~LogReader() = default;
  // Errors: Unavailable (no connection, server error; the message starts with the SQLSTATE,
  // 57014 for a statement timeout), ResourceExhausted (every connection busy).

  // Newest first, at most `limit` + 1 (so the caller knows whether a next page exists).
  virtual Result<std::vector<StoredRecord>> Search(const SearchFilter& filter, const std::optional<Cursor>& after,
                                                   int limit) = 0;
  // Every record whose trace_id or correlation_id is `id`, oldest first, at most `limit` + 1.
  virtual Result<std::vector<StoredRecord>> Correlation(const std::string& id, int limit) = 0;
  // Counts per bucket of `step_seconds` and severity class, ordered by bucket.
  virtual Result<std::vector<VolumeBucket>> Volume(const SearchFilter& filter, int64_t step_seconds) = 0;
  // The newest `limit` records at or after since_us matching the filter (a live tail).
  virtual Result<std::vector<StoredRecord>> Tail(const SearchFilter& filter, int64_t since_us, int limit) = 0;
};

}  // namespace logship::collector
