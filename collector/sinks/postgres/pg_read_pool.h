// A small pool of read-only PostgreSQL connections for the log reader (the console), separate
// from the sink's writer connections, so browsing cannot take a connection ingestion needs.
//
// Every connection runs with statement_timeout and default_transaction_read_only = on,
// so a query can neither run long nor write. Connections are opened lazily and dropped
// when broken (reopened by the next query).
//
// Thread-safe. Run() blocks until a connection is free (at most kWaitForConnection).
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "collector/sinks/postgres/pg_queries.h"
#include "collector/sinks/postgres/pg_util.h"
#include "common/status.h"
#include "common/thread/mutex.h"

namespace logship::collector::postgres {

class PgReadPool {
 public:
  static constexpr std::chrono::seconds kWaitForConnection{5};

  PgReadPool(std::string dsn, uint32_t size, std::chrono::milliseconds statement_timeout);
  ~PgReadPool();
  PgReadPool(const PgReadPool&) = delete;
  PgReadPool& operator=(const PgReadPool&) = delete;

  // Runs one parameterized query. Errors: Unavailable (no connection, server error; the
  // message starts with the SQLSTATE, 57014 for a statement timeout), ResourceExhausted
  // (every connection busy for kWaitForConnection).
  Result<PgResult> Run(const SqlQuery& query);

 private:
  Result<PGconn*> Acquire();
  void Release(PGconn* conn, bool broken);

  const std::string dsn_;
  const uint32_t size_;
  const std::chrono::milliseconds statement_timeout_;
  Mutex mu_;
  CondVar cv_;
  std::vector<PGconn*> idle_ GUARDED_BY(mu_);
  uint32_t open_ GUARDED_BY(mu_) = 0;  // connections idle or in use
};

}  // namespace logship::collector::postgres
