#include "collector/sinks/postgres/postgres_sink.h"

#include <fcntl.h>
#include <unistd.h>
#include <zstd.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <deque>

#include "collector/sinks/postgres/copy_encoder.h"
#include "collector/sinks/postgres/partition_days.h"
#include "collector/sinks/postgres/pg_log_reader.h"
#include "collector/sinks/postgres/pg_util.h"
#include "collector/sinks/postgres/retry.h"
#include "collector/sinks/postgres/schema.h"
#include "common/file_util.h"
#include "common/log.h"
#include "common/utf8.h"
#include "common/thread/mutex.h"

namespace logship::collector::postgres {
namespace {

constexpr std::string_view kComponent = "postgres";
constexpr size_t kMaxNewPartitionsPerWrite = 4;
constexpr std::chrono::seconds kPartitionRetry{60};

}  // namespace

PostgresSink::PostgresSink(PostgresConfig config)
    : config_(std::move(config)), table_(Quote(config_.table)), poison_(config_.give_up_after) {
  for (uint32_t i = 0; i < config_.connections; ++i) writers_.emplace_back([this] { WriterLoop(); });
  if (config_.retention_days > 0) retention_ = std::thread([this] { RetentionLoop(); });
}

PostgresSink::~PostgresSink() {
  {
    MutexLock lock(queue_mu_);
    stopping_writers_ = true;
  }
  queued_.NotifyAll();
  for (auto& t : writers_) t.join();
  {
    MutexLock lock(retention_mu_);
    stopping_ = true;
  }
  retention_wake_.NotifyAll();
  if (retention_.joinable()) retention_.join();
}

void PostgresSink::RegisterMetrics(metrics::Registry& r) {
  const metrics::Labels l = {{"sink", "postgres"}};
  r.AddCallback("logship_collector_sink_dead_lettered_total", "Rows the sink refused, kept in <table>_dead_letter.",
                l, [this] { return static_cast<double>(dead_lettered_.load()); });
  r.AddCallback("logship_collector_sink_conflict_batches_total",
                "Batches written through the conflict-safe path (re-sends).", l,
                [this] { return static_cast<double>(conflict_batches_.load()); });
  r.AddCallback("logship_collector_sink_transactions_total",
                "Transactions that committed batches (several streams' batches may share one).", l,
                [this] { return static_cast<double>(transactions_.load()); });
  r.AddCallback("logship_collector_sink_partitions_dropped_total", "Day partitions dropped by retention.", l,
                [this] { return static_cast<double>(dropped_partitions_.load()); });
  r.AddCallback("logship_collector_dead_letters_dropped_total",
                "Refused records not kept because the dead-letter store is full.", l,
                [this] { return static_cast<double>(dead_letters_dropped_.load()); });
}

Status PostgresSink::Connect(Conn* conn) {
  conn->reset(PQconnectdb(config_.dsn.c_str()));
  if (!*conn || PQstatus(conn->get()) != CONNECTION_OK) {
    // PQerrorMessage never contains the password.
    Status s = Status::Unavailable("cannot connect: " + ErrorOf(conn->get(), nullptr));
    conn->reset();
    return s;
  }
  // Server NOTICEs ("already exists, skipping") would otherwise go straight to stderr.
  PQsetNoticeProcessor(conn->get(), [](void*, const char*) {}, nullptr);
  if (Status s = Exec(conn->get(), "SET synchronous_commit = on; SET client_encoding = 'UTF8'"); !s.ok()) return s;
  {
    MutexLock lock(mu_);
    if (schema_ready_) return Status::Ok();
  }
  auto version = MigrateSchema(conn->get(), config_);
  if (!version.ok()) return version.status();
  std::vector<int64_t> days;
  for (int64_t d = Today() - 1; d <= Today() + static_cast<int64_t>(config_.partitions_ahead_days); ++d) days.push_back(d);
  if (Status s = EnsurePartitions(conn->get(), days); !s.ok()) return s;
  MutexLock lock(mu_);
  if (!schema_ready_) LogInfo(kComponent, "table " + config_.table + " ready (schema version " + std::to_string(*version) + ")");
  schema_ready_ = true;
  return Status::Ok();
}

Status PostgresSink::EnsurePartitions(PGconn* c, const std::vector<int64_t>& days) {
  std::vector<int64_t> missing;
  {
    MutexLock lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    for (int64_t d : days) {
      if (partitions_.count(d)) continue;
      if (auto f = failed_partitions_.find(d); f != failed_partitions_.end() && now < f->second) continue;
      missing.push_back(d);
    }
  }
  // One batch creates at most a few partitions: rows of other days wait in the default
  // partition (event times are clamped, README "Event time"; this is the last fence).
  if (missing.size() > kMaxNewPartitionsPerWrite) {
    LogWarn(kComponent, "a batch touches " + std::to_string(missing.size()) + " days without a partition; creating " +
                            std::to_string(kMaxNewPartitionsPerWrite) + " (the rest go to the default partition)");
    missing.resize(kMaxNewPartitionsPerWrite);
  }
  const uint32_t hosts = config_.partitions_by_host;
  for (int64_t d : missing) {
    const std::string part = config_.table + "_p" + DayName(d);
    std::string sql = "BEGIN; SELECT pg_advisory_xact_lock(" + std::string(kSchemaLockKey) + ");" +
                      "CREATE TABLE IF NOT EXISTS " + Quote(part) + " PARTITION OF " + table_ + " FOR VALUES FROM ('" +
                      DayDate(d) + "') TO ('" + DayDate(d + 1) + "')" +
                      (hosts > 0 ? " PARTITION BY HASH (host);" : ";");
    for (uint32_t k = 0; k < hosts; ++k)
      sql += "CREATE TABLE IF NOT EXISTS " + Quote(part + "_h" + std::to_string(k)) + " PARTITION OF " + Quote(part) +
             " FOR VALUES WITH (MODULUS " + std::to_string(hosts) + ", REMAINDER " + std::to_string(k) + ");";
    sql += "COMMIT;";
    Status s = Exec(c, sql);
    if (!s.ok()) {
      Exec(c, "ROLLBACK");
      if (ClassifySqlState(StateOf(s)) == PgErrorAction::kReconnect) return s;
      // Most often: the default partition already holds rows of that day. They stay there;
      // the partition is tried again later, not on every batch.
      LogWarn(kComponent, "no partition for " + DayDate(d) + " (rows go to the default partition; retried in " +
                              std::to_string(kPartitionRetry.count()) + " s): " + s.message());
      MutexLock lock(mu_);
      failed_partitions_[d] = std::chrono::steady_clock::now() + kPartitionRetry;
      continue;
    }
    MutexLock lock(mu_);
    partitions_.insert(d);
    failed_partitions_.erase(d);
  }
  return Status::Ok();
}

PostgresSink::Conn PostgresSink::Borrow() {
  MutexLock lock(mu_);
  while (idle_.empty() && outstanding_ >= config_.connections) returned_.Wait(mu_);
  ++outstanding_;
  if (!idle_.empty()) {
    Conn c = std::move(idle_.back());
    idle_.pop_back();
    return c;
  }
  return Conn();  // the caller connects
}

void PostgresSink::Return(Conn conn) {
  MutexLock lock(mu_);
  --outstanding_;
  if (conn) idle_.push_back(std::move(conn));
  returned_.NotifyOne();
}

Status PostgresSink::CopyRows(PGconn* c, const std::string& target, const std::vector<std::string_view>& parts,
                              std::string* state) {
  state->clear();
  const std::string sql = "COPY " + target + " (" + CopyColumns() + ") FROM STDIN";
  PgResult r(PQexec(c, sql.c_str()));
  if (PQresultStatus(r.get()) != PGRES_COPY_IN) {
    *state = SqlState(r.get());
    return Status::Unavailable(*state + ": " + ErrorOf(c, r.get()));
  }
  constexpr size_t kChunk = 1 << 20;
  for (std::string_view rows : parts) {
    for (size_t off = 0; off < rows.size(); off += kChunk) {
      const size_t n = std::min(kChunk, rows.size() - off);
      if (PQputCopyData(c, rows.data() + off, static_cast<int>(n)) != 1) {
        *state = "08000";
        return Status::Unavailable("08000: " + ErrorOf(c, nullptr));
      }
    }
  }
  if (PQputCopyEnd(c, nullptr) != 1) {
    *state = "08000";
    return Status::Unavailable("08000: " + ErrorOf(c, nullptr));
  }
  Status result = Status::Ok();
  while (PGresult* raw = PQgetResult(c)) {
    PgResult res(raw);
    if (PQresultStatus(res.get()) != PGRES_COMMAND_OK && result.ok()) {
      *state = SqlState(res.get());
      result = Status::Unavailable(*state + ": " + ErrorOf(c, res.get()));
    }
  }
  return result;
}

WriteResult PostgresSink::Write(const DecodedBatch& batch) {
  if (batch.batch->records_size() == 0) return {WriteOutcome::kOk, ""};
  Pending p;
  p.batch = &batch;
  p.rows.reserve(static_cast<size_t>(batch.batch->ByteSizeLong()) * 2);
  EncodeCopyRows(batch, &p.rows);
  p.records = static_cast<size_t>(batch.batch->records_size());
  {
    MutexLock lock(queue_mu_);
    queue_.push_back(&p);
  }
  queued_.NotifyOne();
  MutexLock lock(queue_mu_);
  while (!p.done) written_.Wait(queue_mu_);
  return p.result;
}

size_t PostgresSink::QueuedRows() const {
  size_t n = 0;
  for (const Pending* q : queue_) n += q->records;
  return n;
}

void PostgresSink::WriterLoop() {
  Conn conn;
  for (;;) {
    std::vector<Pending*> group;
    {
      MutexLock lock(queue_mu_);
      while (!stopping_writers_ && queue_.empty()) queued_.Wait(queue_mu_);
      if (queue_.empty()) return;  // stopping
      // Give other streams batch_linger to add theirs, unless there is a full group already.
      const auto deadline = std::chrono::steady_clock::now() + config_.batch_linger;
      while (config_.batch_linger.count() > 0 && QueuedRows() < config_.batch_rows && !stopping_writers_ &&
             queued_.WaitUntil(queue_mu_, deadline)) {
      }
      size_t rows = 0;
      while (!queue_.empty() && (group.empty() || rows + queue_.front()->records <= config_.batch_rows)) {
        rows += queue_.front()->records;
        group.push_back(queue_.front());
        queue_.pop_front();
      }
    }
    WriteGroup(&conn, group);
    {
      MutexLock lock(queue_mu_);
      for (Pending* p : group) p->done = true;
    }
    written_.NotifyAll();
  }
}

void PostgresSink::WriteGroup(Conn* conn, const std::vector<Pending*>& group) {
  // A kept connection may have died with a server restart; only a failure on a fresh one
  // is the server's answer, so a stale one is replaced and the group tried once more.
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool fresh = !*conn || PQstatus(conn->get()) != CONNECTION_OK;
    Status s;
    std::string state;
    if (fresh) s = Connect(conn);
    for (const Pending* p : group) {
      if (s.ok()) s = EnsurePartitions(conn->get(), DaysTouched(*p->batch));
    }
    if (s.ok()) {
      // Batches of several streams in one transaction: one COPY, one commit.
      std::vector<std::string_view> parts;
      for (const Pending* p : group) parts.push_back(p->rows);
      s = Exec(conn->get(), "BEGIN");
      if (s.ok()) s = CopyRows(conn->get(), table_, parts, &state);
      if (s.ok()) s = Exec(conn->get(), "COMMIT");
      if (s.ok()) {
        ++transactions_;
        poison_.Succeeded();
        for (Pending* p : group) {
          p->result = {WriteOutcome::kOk, ""};
          poison_.Forget(BatchKey(*p->batch));
        }
      } else {
        Exec(conn->get(), "ROLLBACK");
        if (state.empty()) state = StateOf(s);
        const PgErrorAction action = ClassifySqlState(state);
        if (action == PgErrorAction::kDuplicate || action == PgErrorAction::kBadRow ||
            action == PgErrorAction::kRetry) {
          // The rare paths, batch by batch, so only the batches concerned pay for them (and a
          // batch that the server refuses for a reason of its own keeps failing alone).
          for (Pending* p : group) p->result = WriteOne(conn->get(), *p);
          s = Status::Ok();  // each batch has its own result now
          if (PQstatus(conn->get()) != CONNECTION_OK) conn->reset();  // the next group reconnects
        }
      }
    }
    if (!s.ok()) {
      for (Pending* p : group) p->result = {WriteOutcome::kRetry, s.message()};
      const bool broken = *conn && (PQstatus(conn->get()) != CONNECTION_OK ||
                                    ClassifySqlState(StateOf(s)) == PgErrorAction::kReconnect);
      if (broken) conn->reset();
      if (broken && !fresh) continue;
    }
    break;
  }
  std::string error;
  for (const Pending* p : group)
    if (p->result.outcome != WriteOutcome::kOk) error = p->result.reason;
  MutexLock lock(mu_);
  last_write_error_ = error;
}

WriteResult PostgresSink::WriteOne(PGconn* c, const Pending& p) {
  std::string state;
  Status s = Exec(c, "BEGIN");
  if (s.ok()) s = CopyRows(c, table_, {p.rows}, &state);
  if (s.ok()) s = Exec(c, "COMMIT");
  if (s.ok()) {
    poison_.Succeeded();
    poison_.Forget(BatchKey(*p.batch));
    return {WriteOutcome::kOk, ""};
  }
  Exec(c, "ROLLBACK");
  if (state.empty()) state = StateOf(s);
  switch (ClassifySqlState(state)) {
    case PgErrorAction::kDuplicate: return WriteConflictSafe(c, *p.batch, p.rows);
    case PgErrorAction::kBadRow: return WriteRowByRow(c, *p.batch, p.rows, {});
    case PgErrorAction::kRetry:
      if (const auto v = poison_.Failed(BatchKey(*p.batch)); v.expired) return WriteRowByRow(c, *p.batch, p.rows, v);
      [[fallthrough]];
    default: return {WriteOutcome::kRetry, s.message()};
  }
}

std::string PostgresSink::BatchKey(const DecodedBatch& batch) {
  // What the batch holds, not where it came from: OTLP batches have no sequence.
  const auto& records = batch.batch->records();
  return batch.agent_id + '\0' + std::to_string(records.size()) + '\0' +
         (records.empty() ? std::string() : records[0].id());
}

Status PostgresSink::HealthCheck() {
  Conn conn = Borrow();
  Status s;
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) s = Connect(&conn);
  if (s.ok()) s = Exec(conn.get(), "SELECT 1");
  if (!s.ok()) conn.reset();
  Return(std::move(conn));
  if (!s.ok()) return s;
  MutexLock lock(mu_);
  if (!last_write_error_.empty()) return Status::Unavailable("last write failed: " + last_write_error_);
  return Status::Ok();
}

std::unique_ptr<LogReader> PostgresSink::NewReader(uint32_t connections, std::chrono::milliseconds timeout) {
  return std::make_unique<PgLogReader>(config_.read_dsn.empty() ? config_.dsn : config_.read_dsn, config_.table,
                                       connections, timeout);
}

}  // namespace logship::collector::postgres
