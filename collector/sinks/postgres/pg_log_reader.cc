#include "collector/sinks/postgres/pg_log_reader.h"

#include <cstdlib>

namespace logship::collector::postgres {
namespace {

std::string Text(const PGresult* r, int row, int col) {
  return std::string(PQgetvalue(r, row, col), static_cast<size_t>(PQgetlength(r, row, col)));
}

// One row of kRecordColumns (pg_queries.h).
StoredRecord RecordAt(const PGresult* r, int row) {
  StoredRecord s;
  s.id = Text(r, row, 0);
  s.ts_us = std::strtoll(PQgetvalue(r, row, 1), nullptr, 10);
  s.host = Text(r, row, 2);
  s.agent_id = Text(r, row, 3);
  s.source = Text(r, row, 4);
  s.severity = std::atoi(PQgetvalue(r, row, 5));
  s.body = Text(r, row, 6);
  s.attributes_json = Text(r, row, 7);
  s.trace_id = Text(r, row, 8);
  s.correlation_id = Text(r, row, 9);
  return s;
}

}  // namespace

Result<std::vector<StoredRecord>> PgLogReader::Records(const SqlQuery& query) {
  auto result = pool_.Run(query);
  if (!result.ok()) return result.status();
  const PGresult* r = result->get();
  std::vector<StoredRecord> out;
  out.reserve(static_cast<size_t>(PQntuples(r)));
  for (int i = 0; i < PQntuples(r); ++i) out.push_back(RecordAt(r, i));
  return out;
}

Result<std::vector<StoredRecord>> PgLogReader::Search(const SearchFilter& filter, const std::optional<Cursor>& after,
                                                      int limit) {
  return Records(BuildSearch(table_, filter, after, limit));
}

Result<std::vector<StoredRecord>> PgLogReader::Correlation(const std::string& id, int limit) {
  return Records(BuildCorrelation(table_, id, limit + 1));
}

Result<std::vector<StoredRecord>> PgLogReader::Tail(const SearchFilter& filter, int64_t since_us, int limit) {
  return Records(BuildTail(table_, filter, since_us, limit));
}

Result<std::vector<VolumeBucket>> PgLogReader::Volume(const SearchFilter& filter, int64_t step_seconds) {
  auto result = pool_.Run(BuildVolume(table_, filter, step_seconds));
  if (!result.ok()) return result.status();
  const PGresult* r = result->get();
  std::vector<VolumeBucket> out;
  out.reserve(static_cast<size_t>(PQntuples(r)));
  for (int i = 0; i < PQntuples(r); ++i)
    out.push_back(VolumeBucket{std::strtoll(PQgetvalue(r, i, 0), nullptr, 10), Text(r, i, 1),
                               std::strtoll(PQgetvalue(r, i, 2), nullptr, 10)});
  return out;
}

}  // namespace logship::collector::postgres
