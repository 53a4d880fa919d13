// The PostgreSQL sink's LogReader: the queries of pg_queries.h on a PgReadPool (read_dsn when
// set, else dsn), rows turned into StoredRecords. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "collector/model/log_reader.h"
#include "collector/sinks/postgres/pg_read_pool.h"

namespace logship::collector::postgres {

class PgLogReader final : public LogReader {
 public:
  PgLogReader(std::string dsn, std::string table, uint32_t connections, std::chrono::milliseconds statement_timeout)
      : pool_(std::move(dsn), connections, statement_timeout), table_(std::move(table)) {}

  Result<std::vector<StoredRecord>> Search(const SearchFilter& filter, const std::optional<Cursor>& after,
                                           int limit) override;
  Result<std::vector<StoredRecord>> Correlation(const std::string& id, int limit) override;
  Result<std::vector<VolumeBucket>> Volume(const SearchFilter& filter, int64_t step_seconds) override;
  Result<std::vector<StoredRecord>> Tail(const SearchFilter& filter, int64_t since_us, int limit) override;

 private:
  Result<std::vector<StoredRecord>> Records(const SqlQuery& query);

  PgReadPool pool_;
  const std::string table_;
};

}  // namespace logship::collector::postgres
