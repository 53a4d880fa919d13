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
#include "collector/sinks/postgres/pg_util.h"
#include "collector/sinks/postgres/retry.h"
#include "collector/sinks/postgres/schema.h"
#include "common/file_util.h"
#include "common/log.h"
#include "common/utf8.h"

namespace logship::collector::postgres {
namespace {

constexpr std::string_view kComponent = "postgres";
constexpr size_t kMaxNewPartitionsPerWrite = 4;
constexpr std::chrono::seconds kPartitionRetry{60};

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

// "YYYYMMDD" → days since the epoch; -1 when it is not a date.
int64_t ParseDayName(const std::string& s) {
  if (s.size() != 8) return -1;
  std::tm tm{};
  if (std::sscanf(s.c_str(), "%4d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3) return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) / 86400;
}

}  // namespace

PostgresSink::PostgresSink(PostgresConfig config)
    : config_(std::move(config)), table_(Quote(config_.table)), poison_(config_.give_up_after) {
  for (uint32_t i = 0; i < config_.connections; ++i) writers_.emplace_back([this] { WriterLoop(); });
  if (config_.retention_days > 0) retention_ = std::thread([this] { RetentionLoop(); });
}

PostgresSink::~PostgresSink() {
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    stopping_writers_ = true;
  }
  queued_.notify_all();
  for (auto& t : writers_) t.join();
  {
    std::lock_guard<std::mutex> lock(retention_mu_);
    stopping_ = true;
  }
  retention_wake_.notify_all();
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
    std::lock_guard<std::mutex> lock(mu_);
    if (schema_ready_) return Status::Ok();
  }
  auto version = MigrateSchema(conn->get(), config_);
  if (!version.ok()) return version.status();
  std::vector<int64_t> days;
  for (int64_t d = Today() - 1; d <= Today() + static_cast<int64_t>(config_.partitions_ahead_days); ++d) days.push_back(d);
  if (Status s = EnsurePartitions(conn->get(), days); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  if (!schema_ready_) LogInfo(kComponent, "table " + config_.table + " ready (schema version " + std::to_string(*version) + ")");
  schema_ready_ = true;
  return Status::Ok();
}

Status PostgresSink::EnsurePartitions(PGconn* c, const std::vector<int64_t>& days) {
  std::vector<int64_t> missing;
  {
    std::lock_guard<std::mutex> lock(mu_);
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
      std::lock_guard<std::mutex> lock(mu_);
      failed_partitions_[d] = std::chrono::steady_clock::now() + kPartitionRetry;
      continue;
    }
    std::lock_guard<std::mutex> lock(mu_);
    partitions_.insert(d);
    failed_partitions_.erase(d);
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

WriteResult PostgresSink::WriteConflictSafe(PGconn* c, const DecodedBatch& batch, const std::string& rows) {
  ++conflict_batches_;
  std::string state;
  Status s = Exec(c, "BEGIN; CREATE TEMP TABLE IF NOT EXISTS logship_staging (LIKE " + table_ +
                         " INCLUDING DEFAULTS) ON COMMIT DELETE ROWS");
  if (s.ok()) s = CopyRows(c, "logship_staging", {rows}, &state);
  if (s.ok())
    s = Exec(c, "INSERT INTO " + table_ + " (" + CopyColumns() + ") SELECT " + CopyColumns() +
                    " FROM logship_staging ON CONFLICT DO NOTHING");
  if (s.ok()) s = Exec(c, "COMMIT");
  if (s.ok()) return {WriteOutcome::kOk, ""};
  Exec(c, "ROLLBACK");
  if (state.empty()) state = StateOf(s);
  const PgErrorAction action = ClassifySqlState(state);
  if (action == PgErrorAction::kBadRow) return WriteRowByRow(c, batch, rows, {});
  if (action == PgErrorAction::kRetry) {
    if (const auto v = poison_.Failed(BatchKey(batch)); v.expired) return WriteRowByRow(c, batch, rows, v);
  }
  return {WriteOutcome::kRetry, s.message()};
}

WriteResult PostgresSink::WriteRowByRow(PGconn* c, const DecodedBatch& batch, const std::string& rows,
                                        PoisonTracker::Verdict failing) {
  // The rare path: some row is refused. Each row in its own savepoint; refused ones go to
  // the dead-letter table with the error, duplicates (a re-send) are skipped. A row failing
  // with a retryable error keeps the whole batch for a retry, unless the batch has been
  // failing for give_up_after (`failing.expired`) and the server takes other rows (its
  // neighbours here, or other writes meanwhile): then that row is the problem.
  const std::string dead = Quote(config_.table + "_dead_letter");
  if (Status s = Exec(c, "BEGIN"); !s.ok()) return {WriteOutcome::kRetry, s.message()};
  uint64_t refused = 0, stored = 0;
  std::string state;
  struct Stalled {
    std::string_view row;
    std::string state, error;
  };
  std::vector<Stalled> stalled;  // rows refused with a retryable error
  const auto keep = [&](std::string_view row, const std::string& st, const std::string& error) -> Status {
    if (!DeadLetterRoom(c)) {
      ++dead_letters_dropped_;
      ++refused;
      return Status::Ok();
    }
    const std::string id(row.substr(0, row.find('\t')));
    const std::string text(row.substr(0, row.size() - 1));
    const char* params[] = {id.c_str(), batch.agent_id.c_str(), st.c_str(), error.c_str(), text.c_str()};
    PgResult r(PQexecParams(c,
                            ("INSERT INTO " + dead + " (id, agent_id, sqlstate, error, row_text) "
                             "VALUES ($1::uuid, $2, $3, $4, $5) ON CONFLICT DO NOTHING").c_str(),
                            5, nullptr, params, nullptr, nullptr, 0));
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK)
      return Status::Unavailable("cannot dead-letter a refused row: " + ErrorOf(c, r.get()));
    ++refused;
    return Status::Ok();
  };
  for (size_t start = 0; start < rows.size();) {
    const size_t end = rows.find('\n', start);
    const std::string_view row(rows.data() + start, (end == std::string::npos ? rows.size() : end + 1) - start);
    start = end == std::string::npos ? rows.size() : end + 1;
    Exec(c, "SAVEPOINT logship_row");
    Status s = CopyRows(c, table_, {row}, &state);
    if (s.ok()) {
      Exec(c, "RELEASE SAVEPOINT logship_row");
      ++stored;
      continue;
    }
    Exec(c, "ROLLBACK TO SAVEPOINT logship_row");
    const PgErrorAction action = ClassifySqlState(state);
    if (action == PgErrorAction::kDuplicate) {
      ++stored;
      continue;
    }
    if (action == PgErrorAction::kRetry && !failing.expired) failing = poison_.Failed(BatchKey(batch));
    if (action == PgErrorAction::kReconnect || (action == PgErrorAction::kRetry && !failing.expired)) {
      Exec(c, "ROLLBACK");
      return {WriteOutcome::kRetry, s.message()};
    }
    if (action == PgErrorAction::kRetry) {
      stalled.push_back(Stalled{row, state, s.message()});
      continue;
    }
    if (Status k = keep(row, state, s.message()); !k.ok()) {
      Exec(c, "ROLLBACK");
      return {WriteOutcome::kRetry, k.message()};
    }
  }
  if (!stalled.empty()) {
    if (stored == 0 && refused == 0 && !failing.others_succeeded) {
      // Nothing at all is taken: the server's problem, not these rows'. Keep retrying.
      Exec(c, "ROLLBACK");
      return {WriteOutcome::kRetry, stalled.front().error};
    }
    for (const auto& st : stalled) {
      const std::string why = st.error + " (kept failing for " + std::to_string(poison_.give_up_after().count() / 1000) +
                              " s while other rows were stored)";
      if (Status k = keep(st.row, st.state, why); !k.ok()) {
        Exec(c, "ROLLBACK");
        return {WriteOutcome::kRetry, k.message()};
      }
    }
    state = stalled.front().state;
  }
  if (Status s = Exec(c, "COMMIT"); !s.ok()) return {WriteOutcome::kRetry, s.message()};
  if (stored > 0) poison_.Succeeded();
  poison_.Forget(BatchKey(batch));
  if (refused > 0) {
    dead_lettered_ += refused;
    LogWarn(kComponent, std::to_string(refused) + " row(s) of batch " + std::to_string(batch.sequence) + " from " +
                            batch.agent_id + " were refused (" + state + ") and kept in " + config_.table +
                            "_dead_letter");
  }
  return {WriteOutcome::kOk, ""};
}

WriteResult PostgresSink::Write(const DecodedBatch& batch) {
  if (batch.batch->records_size() == 0) return {WriteOutcome::kOk, ""};
  Pending p;
  p.batch = &batch;
  p.rows.reserve(static_cast<size_t>(batch.batch->ByteSizeLong()) * 2);
  EncodeCopyRows(batch, &p.rows);
  p.records = static_cast<size_t>(batch.batch->records_size());
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    queue_.push_back(&p);
  }
  queued_.notify_one();
  std::unique_lock<std::mutex> lock(queue_mu_);
  written_.wait(lock, [&] { return p.done; });
  return p.result;
}

void PostgresSink::WriterLoop() {
  Conn conn;
  for (;;) {
    std::vector<Pending*> group;
    {
      std::unique_lock<std::mutex> lock(queue_mu_);
      queued_.wait(lock, [&] { return stopping_writers_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping
      // Give other streams batch_linger to add theirs, unless there is a full group already.
      const auto deadline = std::chrono::steady_clock::now() + config_.batch_linger;
      const auto queued_rows = [&] {
        size_t n = 0;
        for (const Pending* q : queue_) n += q->records;
        return n;
      };
      while (config_.batch_linger.count() > 0 && queued_rows() < config_.batch_rows && !stopping_writers_ &&
             queued_.wait_until(lock, deadline) != std::cv_status::timeout) {
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
      std::lock_guard<std::mutex> lock(queue_mu_);
      for (Pending* p : group) p->done = true;
    }
    written_.notify_all();
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
  std::lock_guard<std::mutex> lock(mu_);
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

Status PostgresSink::Store(const std::vector<DeadLetter>& letters) {
  if (letters.empty()) return Status::Ok();
  Conn conn = Borrow();
  Status s;
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) s = Connect(&conn);
  if (s.ok() && !DeadLetterRoom(conn.get())) {
    dead_letters_dropped_ += letters.size();
    Return(std::move(conn));
    return Status::Ok();
  }
  if (s.ok()) s = Exec(conn.get(), "BEGIN");
  const std::string sql = "INSERT INTO " + Quote(config_.table + "_dead_letter") +
                          " (id, agent_id, sink, sqlstate, error, row_text) VALUES ($1::uuid, $2, $3, $4, $5, $6)"
                          " ON CONFLICT DO NOTHING";
  std::string scratch[6];
  for (size_t i = 0; s.ok() && i < letters.size(); ++i) {
    const DeadLetter& l = letters[i];
    const std::string* fields[] = {&l.id, &l.agent_id, &l.sink, &l.code, &l.error, &l.payload};
    const char* params[6];
    for (int f = 0; f < 6; ++f) {  // text columns: valid UTF-8 without NUL
      scratch[f].clear();
      AppendEscapedUtf8(*fields[f], &scratch[f]);
      params[f] = scratch[f].c_str();
    }
    PgResult r(PQexecParams(conn.get(), sql.c_str(), 6, nullptr, params, nullptr, nullptr, 0));
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) s = Status::Unavailable(ErrorOf(conn.get(), r.get()));
  }
  if (s.ok()) s = Exec(conn.get(), "COMMIT");
  if (!s.ok() && conn) Exec(conn.get(), "ROLLBACK");
  if (!s.ok()) conn.reset();
  Return(std::move(conn));
  if (!s.ok()) return Status::Unavailable("cannot store dead letters in " + config_.table + "_dead_letter: " + s.message());
  return Status::Ok();
}

Status PostgresSink::HealthCheck() {
  Conn conn = Borrow();
  Status s;
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) s = Connect(&conn);
  if (s.ok()) s = Exec(conn.get(), "SELECT 1");
  if (!s.ok()) conn.reset();
  Return(std::move(conn));
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  if (!last_write_error_.empty()) return Status::Unavailable("last write failed: " + last_write_error_);
  return Status::Ok();
}

Status PostgresSink::ArchivePartition(PGconn* c, const std::string& partition) {
  if (Status s = MakeDirs(config_.archive_dir); !s.ok()) return s;
  const std::string path = config_.archive_dir + "/" + partition + ".copy.zst";
  const std::string tmp = path + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640));
  if (!fd.valid()) return Status::FromErrno("open " + tmp, errno);
  std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> z(ZSTD_createCCtx(), &ZSTD_freeCCtx);
  ZSTD_CCtx_setParameter(z.get(), ZSTD_c_compressionLevel, 3);
  std::string out(ZSTD_CStreamOutSize(), '\0');
  const auto push = [&](const char* data, size_t n, ZSTD_EndDirective mode) -> Status {
    ZSTD_inBuffer in{data, n, 0};
    for (;;) {
      ZSTD_outBuffer ob{out.data(), out.size(), 0};
      const size_t left = ZSTD_compressStream2(z.get(), &ob, &in, mode);
      if (ZSTD_isError(left)) return Status::IoError(std::string("zstd: ") + ZSTD_getErrorName(left));
      if (Status s = WriteAll(fd.get(), std::string_view(out.data(), ob.pos)); !s.ok()) return s;
      if (mode == ZSTD_e_end ? left == 0 : in.pos == in.size) return Status::Ok();
    }
  };
  // COPY (SELECT …): a day partitioned again by host cannot be copied directly.
  PgResult r(PQexec(c, ("COPY (SELECT * FROM " + Quote(partition) + ") TO STDOUT").c_str()));
  if (PQresultStatus(r.get()) != PGRES_COPY_OUT) return Status::Unavailable(ErrorOf(c, r.get()));
  Status s;
  for (;;) {
    char* buf = nullptr;
    const int n = PQgetCopyData(c, &buf, 0);
    if (n == -1) break;
    if (n < 0) {
      s = Status::Unavailable(ErrorOf(c, nullptr));
      break;
    }
    if (s.ok()) s = push(buf, static_cast<size_t>(n), ZSTD_e_continue);
    PQfreemem(buf);
  }
  while (PGresult* raw = PQgetResult(c)) {
    PgResult res(raw);
    if (s.ok() && PQresultStatus(res.get()) != PGRES_COMMAND_OK) s = Status::Unavailable(ErrorOf(c, res.get()));
  }
  if (s.ok()) s = push(nullptr, 0, ZSTD_e_end);
  if (s.ok() && ::fsync(fd.get()) != 0) s = Status::FromErrno("fsync " + tmp, errno);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) s = Status::FromErrno("rename " + tmp, errno);
  if (!s.ok()) ::unlink(tmp.c_str());
  return s;
}

Result<int> PostgresSink::EnforceRetention() {
  Conn conn = Borrow();
  Status s;
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) s = Connect(&conn);
  int dropped = 0;
  if (s.ok()) {
    PgResult r(PQexec(conn.get(), ("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                                   "WHERE i.inhparent = '" + table_ + "'::regclass").c_str()));
    if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) s = Status::Unavailable(ErrorOf(conn.get(), r.get()));
    const std::string prefix = config_.table + "_p";
    const int64_t cutoff = RetentionToday(conn.get()) - static_cast<int64_t>(config_.retention_days);
    for (int i = 0; s.ok() && i < PQntuples(r.get()); ++i) {
      const std::string part = PQgetvalue(r.get(), i, 0);
      if (part.compare(0, prefix.size(), prefix) != 0) continue;
      const int64_t day = ParseDayName(part.substr(prefix.size()));
      if (day < 0 || day >= cutoff) continue;
      if (!config_.archive_dir.empty()) {
        if (Status a = ArchivePartition(conn.get(), part); !a.ok()) {
          LogError(kComponent, "cannot archive " + part + " (kept; retried next pass): " + a.message());
          continue;
        }
      }
      s = Exec(conn.get(), "BEGIN; SELECT pg_advisory_xact_lock(" + std::string(kSchemaLockKey) + "); ALTER TABLE " +
                               table_ + " DETACH PARTITION " + Quote(part) + "; DROP TABLE " + Quote(part) + "; COMMIT;");
      if (!s.ok()) {
        Exec(conn.get(), "ROLLBACK");
        break;
      }
      ++dropped;
      ++dropped_partitions_;
      {
        std::lock_guard<std::mutex> lock(mu_);
        partitions_.erase(day);
      }
      LogInfo(kComponent, "retention: dropped " + part + (config_.archive_dir.empty() ? "" : " (archived)"));
    }
  }
  if (!s.ok()) conn.reset();
  Return(std::move(conn));
  if (!s.ok()) return s;
  return dropped;
}

bool PostgresSink::DeadLetterRoom(PGconn* c) {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (now < dead_letter_checked_ + std::chrono::seconds(30)) return !dead_letter_full_;
    dead_letter_checked_ = now;
  }
  PgResult r(PQexec(c, ("SELECT pg_total_relation_size('" + Quote(config_.table + "_dead_letter") + "'::regclass)").c_str()));
  const bool full = PQresultStatus(r.get()) == PGRES_TUPLES_OK && PQntuples(r.get()) == 1 &&
                    std::strtoull(PQgetvalue(r.get(), 0, 0), nullptr, 10) >= config_.dead_letter_max_bytes;
  std::lock_guard<std::mutex> lock(mu_);
  if (full && !dead_letter_full_)
    LogError(kComponent, config_.table + "_dead_letter reached its limit of " +
                             std::to_string(config_.dead_letter_max_bytes) +
                             " bytes; further refused records are counted, not kept");
  dead_letter_full_ = full;
  return !full;
}

int64_t PostgresSink::RetentionToday(PGconn* c) {
  // Dropping data is the one thing a wrong clock must not cause. Today is the earlier of this
  // host's and the database server's clocks, and it may not run ahead of the monotonic clock
  // since the last pass: a wall clock stepped forward (or a bad NTP sync) cannot make
  // retention drop today's partitions.
  int64_t today = Today();
  PgResult r(PQexec(c, "SELECT floor(extract(epoch FROM now()) / 86400)::bigint"));
  if (PQresultStatus(r.get()) == PGRES_TUPLES_OK && PQntuples(r.get()) == 1)
    today = std::min<int64_t>(today, std::strtoll(PQgetvalue(r.get(), 0, 0), nullptr, 10));
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(mu_);
  if (retention_day_ != INT64_MIN) {
    const auto elapsed = std::chrono::duration_cast<std::chrono::hours>(now - retention_checked_).count();
    const int64_t allowed = retention_day_ + elapsed / 24 + 1;
    if (today > allowed) {
      LogWarn(kComponent, "the clock says day " + DayDate(today) + " but only " + std::to_string(elapsed) +
                              " h passed since retention last ran on " + DayDate(retention_day_) +
                              "; retention uses " + DayDate(allowed));
      today = allowed;
    }
  }
  if (today >= retention_day_ || retention_day_ == INT64_MIN) {
    retention_day_ = today;
    retention_checked_ = now;
  }
  return today;
}

void PostgresSink::RetentionLoop() {
  std::unique_lock<std::mutex> lock(retention_mu_);
  while (!retention_wake_.wait_for(lock, config_.retention_interval, [this] { return stopping_; })) {
    lock.unlock();
    if (auto r = EnforceRetention(); !r.ok()) LogWarn(kComponent, "retention pass failed: " + r.status().message());
    lock.lock();
  }
}

}  // namespace logship::collector::postgres
