#include "collector/sinks/postgres/pg_read_pool.h"
#include "common/thread/mutex.h"

namespace logship::collector::postgres {

PgReadPool::PgReadPool(std::string dsn, uint32_t size, std::chrono::milliseconds statement_timeout)
    : dsn_(std::move(dsn)), size_(size), statement_timeout_(statement_timeout) {}

PgReadPool::~PgReadPool() {
  for (PGconn* c : idle_) PQfinish(c);
}

Result<PGconn*> PgReadPool::Acquire() {
  {
    MutexLock lock(mu_);
    const auto until = std::chrono::steady_clock::now() + kWaitForConnection;
    while (idle_.empty() && open_ >= size_ && cv_.WaitUntil(mu_, until)) {
    }
    if (idle_.empty() && open_ >= size_)
      return Status::ResourceExhausted("every console database connection is busy; try again");
    if (!idle_.empty()) {
      PGconn* c = idle_.back();
      idle_.pop_back();
      return c;
    }
    ++open_;  // reserved; connect outside the lock
  }
  // connect_timeout first: a value in the dsn itself wins.
  const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {"5", "logship-console", dsn_.c_str(), nullptr};
  PGconn* c = PQconnectdbParams(keys, values, 1);
  std::string error;
  if (PQstatus(c) != CONNECTION_OK) {
    error = ErrorOf(c, nullptr);
  } else {
    const std::string setup = "SET statement_timeout = " + std::to_string(statement_timeout_.count()) +
                              "; SET default_transaction_read_only = on";
    if (Status s = Exec(c, setup); !s.ok()) error = s.message();
  }
  if (!error.empty()) {
    PQfinish(c);
    Release(nullptr, true);
    return Status::Unavailable("database (log reader): " + error);
  }
  return c;
}

void PgReadPool::Release(PGconn* conn, bool broken) {
  {
    MutexLock lock(mu_);
    if (broken) {
      --open_;
    } else {
      idle_.push_back(conn);
    }
  }
  if (broken && conn != nullptr) PQfinish(conn);
  cv_.NotifyOne();
}

Result<PgResult> PgReadPool::Run(const SqlQuery& query) {
  auto conn = Acquire();
  if (!conn.ok()) return conn.status();
  PGconn* c = *conn;
  std::vector<const char*> values;
  values.reserve(query.params.size());
  for (const auto& p : query.params) values.push_back(p.c_str());
  PgResult r(PQexecParams(c, query.sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                                    nullptr, nullptr, 0));
  if (PQresultStatus(r.get()) == PGRES_TUPLES_OK) {
    Release(c, false);
    return r;
  }
  Status s = Status::Unavailable(SqlState(r.get()) + ": " + ErrorOf(c, r.get()));
  Release(c, PQstatus(c) != CONNECTION_OK);
  return s;
}

}  // namespace logship::collector::postgres
