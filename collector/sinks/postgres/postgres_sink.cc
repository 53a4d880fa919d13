#include "collector/sinks/postgres/postgres_sink.h"

#include <chrono>
#include <cstdio>
#include <ctime>

#include "collector/sinks/postgres/copy_encoder.h"
#include "collector/sinks/postgres/retry.h"
#include "common/log.h"

namespace logship::collector::postgres {
namespace {

constexpr std::string_view kComponent = "postgres";
// Arbitrary but fixed: every logship collector serialises its DDL on this key.
constexpr const char* kSchemaLockKey = "7406174061";

struct ResultDeleter { void operator()(PGresult* r) const { PQclear(r); } };
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

std::string ErrorOf(PGconn* c, PGresult* r) {
  std::string m = r != nullptr ? PQresultErrorMessage(r) : PQerrorMessage(c);
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m.empty() ? "unknown error" : m;
}

std::string SqlState(PGresult* r) {
  const char* s = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  return s != nullptr ? s : "";
}

// Runs a command; returns its status with the SQLSTATE in front of the message.
Status Exec(PGconn* c, const std::string& sql) {
  PgResult r(PQexec(c, sql.c_str()));
  const auto st = PQresultStatus(r.get());
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return Status::Ok();
  return Status::Unavailable(SqlState(r.get()) + ": " + ErrorOf(c, r.get()));
}

// A UTC day (days since the epoch) as "%04d%02d%02d" (partition names) or "%04d-%02d-%02d".
std::string FormatDay(int64_t day, const char* format) {
  const time_t t = static_cast<time_t>(day * 86400);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[48];
  std::snprintf(buf, sizeof buf, format, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  return buf;
}
std::string DayName(int64_t day) { return FormatDay(day, "%04d%02d%02d"); }
std::string DayDate(int64_t day) { return FormatDay(day, "%04d-%02d-%02d"); }

int64_t Today() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count() /
         86400;
}

std::string StateOf(const Status& s) { return s.message().substr(0, s.message().find(':')); }

}  // namespace

PostgresSink::PostgresSink(PostgresConfig config) : config_(std::move(config)), table_("\"" + config_.table + "\"") {}

PostgresSink::~PostgresSink() = default;

Status PostgresSink::Connect(Conn* conn) {
  conn->reset(PQconnectdb(config_.dsn.c_str()));
  if (!*conn || PQstatus(conn->get()) != CONNECTION_OK) {
    // PQerrorMessage never contains the password.
    Status s = Status::Unavailable("cannot connect: " + ErrorOf(conn->get(), nullptr));
    conn->reset();
    return s;
  }
  if (Status s = Exec(conn->get(), "SET synchronous_commit = on; SET client_encoding = 'UTF8'"); !s.ok()) return s;
  bool need_schema;
  {
    std::lock_guard<std::mutex> lock(mu_);
    need_schema = !schema_ready_;
  }
  if (need_schema) {
    if (Status s = EnsureSchema(conn->get()); !s.ok()) return s;
  }
  return Status::Ok();
}

Status PostgresSink::EnsureSchema(PGconn* c) {
  const std::string& t = table_;
  const std::string base = config_.table;
  std::string ddl =
      "BEGIN;"
      "SELECT pg_advisory_xact_lock(" + std::string(kSchemaLockKey) + ");"
      "CREATE TABLE IF NOT EXISTS " + t + " ("
      " id uuid NOT NULL,"
      " ts timestamptz NOT NULL,"
      " observed_ts timestamptz NOT NULL,"
      " host text NOT NULL,"
      " agent_id text NOT NULL,"
      " source text NOT NULL,"
      " severity smallint NOT NULL DEFAULT 0,"
      " body text NOT NULL,"
      " attributes jsonb NOT NULL DEFAULT '{}',"
      " trace_id text,"
      " correlation_id text,"
      " CONSTRAINT " + base + "_id_ts_key UNIQUE (id, ts)"
      ") PARTITION BY RANGE (ts);"
      // Catches rows whose day has no partition yet, so a far-off timestamp never fails a batch.
      "CREATE TABLE IF NOT EXISTS \"" + base + "_default\" PARTITION OF " + t + " DEFAULT;"
      "CREATE INDEX IF NOT EXISTS \"" + base + "_ts_idx\" ON " + t + " USING brin (ts);"
      "CREATE INDEX IF NOT EXISTS \"" + base + "_trace_id_idx\" ON " + t + " (trace_id) WHERE trace_id IS NOT NULL;"
      "CREATE INDEX IF NOT EXISTS \"" + base + "_correlation_id_idx\" ON " + t +
      " (correlation_id) WHERE correlation_id IS NOT NULL;"
      "COMMIT;";
  if (Status s = Exec(c, ddl); !s.ok()) {
    Exec(c, "ROLLBACK");
    return Status::Unavailable("cannot create table " + base + ": " + s.message());
  }
  std::vector<int64_t> days;
  for (int64_t d = Today() - 1; d <= Today() + static_cast<int64_t>(config_.partitions_ahead_days); ++d) days.push_back(d);
  if (Status s = EnsurePartitions(c, days); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  if (!schema_ready_) LogInfo(kComponent, "table " + base + " ready");
  schema_ready_ = true;
  return Status::Ok();
}

Status PostgresSink::EnsurePartitions(PGconn* c, const std::vector<int64_t>& days) {
  std::vector<int64_t> missing;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (int64_t d : days)
      if (!partitions_.count(d)) missing.push_back(d);
  }
  for (int64_t d : missing) {
    const std::string part = "\"" + config_.table + "_p" + DayName(d) + "\"";
    const std::string sql = "BEGIN; SELECT pg_advisory_xact_lock(" + std::string(kSchemaLockKey) + ");" +
                            "CREATE TABLE IF NOT EXISTS " + part + " PARTITION OF " + table_ + " FOR VALUES FROM ('" +
                            DayDate(d) + "') TO ('" + DayDate(d + 1) + "'); COMMIT;";
    Status s = Exec(c, sql);
    if (!s.ok()) {
      Exec(c, "ROLLBACK");
      const std::string state = StateOf(s);
      if (ClassifySqlState(state) == PgErrorAction::kReconnect) return s;
      // Most often: the default partition already holds rows of that day. They stay there.
      LogWarn(kComponent, "no partition for " + DayDate(d) + " (rows go to the default partition): " + s.message());
    }
    std::lock_guard<std::mutex> lock(mu_);
    partitions_.insert(d);
  }
  return Status::Ok();
}

PostgresSink::Conn PostgresSink::Borrow() {
  std::unique_lock<std::mutex> lock(mu_);
  returned_.wait(lock, [&] { return !idle_.empty() || outstanding_ < config_.connections; });
  ++outstanding_;
  if (!idle_.empty()) {
    Conn c = std::move(idle_.back());
    idle_.pop_back();
    return c;
  }
  return Conn();  // the caller connects
}

void PostgresSink::Return(Conn conn) {
  std::lock_guard<std::mutex> lock(mu_);
  --outstanding_;
  if (conn) idle_.push_back(std::move(conn));
  returned_.notify_one();
}

Status PostgresSink::CopyBatch(PGconn* c, const std::string& target, const std::string& rows, bool* duplicate) {
  *duplicate = false;
  const std::string sql = "COPY " + target + " (" + CopyColumns() + ") FROM STDIN";
  PgResult r(PQexec(c, sql.c_str()));
  if (PQresultStatus(r.get()) != PGRES_COPY_IN) return Status::Unavailable(SqlState(r.get()) + ": " + ErrorOf(c, r.get()));
  constexpr size_t kChunk = 1 << 20;
  for (size_t off = 0; off < rows.size(); off += kChunk) {
    const size_t n = std::min(kChunk, rows.size() - off);
    if (PQputCopyData(c, rows.data() + off, static_cast<int>(n)) != 1)
      return Status::Unavailable("08000: " + ErrorOf(c, nullptr));
  }
  if (PQputCopyEnd(c, nullptr) != 1) return Status::Unavailable("08000: " + ErrorOf(c, nullptr));
  Status result = Status::Ok();
  while (PGresult* raw = PQgetResult(c)) {
    PgResult res(raw);
    if (PQresultStatus(res.get()) != PGRES_COMMAND_OK && result.ok()) {
      const std::string state = SqlState(res.get());
      *duplicate = ClassifySqlState(state) == PgErrorAction::kDuplicate;
      result = Status::Unavailable(state + ": " + ErrorOf(c, res.get()));
    }
  }
  return result;
}

WriteResult PostgresSink::WriteConflictSafe(PGconn* c, const std::string& rows) {
  Status s = Exec(c, "BEGIN; CREATE TEMP TABLE IF NOT EXISTS logship_staging (LIKE " + table_ +
                         " INCLUDING DEFAULTS) ON COMMIT DELETE ROWS");
  bool dup = false;
  if (s.ok()) s = CopyBatch(c, "logship_staging", rows, &dup);
  if (s.ok())
    s = Exec(c, "INSERT INTO " + table_ + " (" + CopyColumns() + ") SELECT " + CopyColumns() +
                    " FROM logship_staging ON CONFLICT DO NOTHING");
  if (s.ok()) s = Exec(c, "COMMIT");
  if (!s.ok()) {
    Exec(c, "ROLLBACK");
    return {WriteOutcome::kRetry, "postgres: " + s.message()};
  }
  return {WriteOutcome::kOk, ""};
}

WriteResult PostgresSink::Write(const DecodedBatch& batch) {
  if (batch.batch.records_size() == 0) return {WriteOutcome::kOk, ""};
  std::string rows;
  rows.reserve(static_cast<size_t>(batch.batch.ByteSizeLong()) * 2);
  EncodeCopyRows(batch, &rows);

  Conn conn = Borrow();
  WriteResult result{WriteOutcome::kOk, ""};
  Status s;
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) s = Connect(&conn);
  if (s.ok()) s = EnsurePartitions(conn.get(), DaysTouched(batch));
  if (s.ok()) {
    bool duplicate = false;
    s = Exec(conn.get(), "BEGIN");
    if (s.ok()) s = CopyBatch(conn.get(), table_, rows, &duplicate);
    if (s.ok()) s = Exec(conn.get(), "COMMIT");
    if (!s.ok()) Exec(conn.get(), "ROLLBACK");
    if (duplicate) {
      // The rare path: part of this batch is stored already (a re-send). Keep exactly one copy.
      result = WriteConflictSafe(conn.get(), rows);
      s = Status::Ok();
    }
  }
  if (!s.ok()) {
    result = {WriteOutcome::kRetry, "postgres: " + s.message()};
    if (conn && (PQstatus(conn.get()) != CONNECTION_OK || ClassifySqlState(StateOf(s)) == PgErrorAction::kReconnect))
      conn.reset();
  }
  Return(std::move(conn));
  return result;
}

Status PostgresSink::HealthCheck() {
  Conn conn = Borrow();
  Status s;
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) s = Connect(&conn);
  if (s.ok()) s = Exec(conn.get(), "SELECT 1");
  if (!s.ok()) conn.reset();
  Return(std::move(conn));
  return s;
}

}  // namespace logship::collector::postgres
