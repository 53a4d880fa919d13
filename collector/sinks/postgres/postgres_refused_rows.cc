// Batches the server refuses: a re-send (unique key), rows no retry can store (into
// <table>_dead_letter, alone), and rows that keep failing retryably (PoisonTracker).
#include "collector/sinks/postgres/postgres_sink.h"

#include "collector/sinks/postgres/copy_encoder.h"
#include "collector/sinks/postgres/partition_days.h"
#include "collector/sinks/postgres/pg_util.h"
#include "collector/sinks/postgres/retry.h"
#include "common/file_util.h"
#include "common/log.h"
#include "common/utf8.h"
#include "common/thread/mutex.h"

namespace logship::collector::postgres {
namespace {
constexpr std::string_view kComponent = "postgres";
}  // namespace

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
  if (Status s = Exec(c, "BEGIN"); !s.ok()) return {WriteOutcome::kRetry, s.message()};
  uint64_t refused = 0, stored = 0;
  std::string state;
  struct Stalled {
    std::string_view row;
    std::string state, error;
  };
  std::vector<Stalled> stalled;  // rows refused with a retryable error
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
    if (Status k = KeepRow(c, batch.agent_id, row, state, s.message()); !k.ok()) {
      Exec(c, "ROLLBACK");
      return {WriteOutcome::kRetry, k.message()};
    }
    ++refused;
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
      if (Status k = KeepRow(c, batch.agent_id, st.row, st.state, why); !k.ok()) {
        Exec(c, "ROLLBACK");
        return {WriteOutcome::kRetry, k.message()};
      }
      ++refused;
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

// A row refused for good, into <table>_dead_letter; while that holds dead_letter_max_bytes it
// is counted and dropped instead.
Status PostgresSink::KeepRow(PGconn* c, const std::string& agent_id, std::string_view row, const std::string& state,
                             const std::string& error) {
  if (!DeadLetterRoom(c)) {
    ++dead_letters_dropped_;
    return Status::Ok();
  }
  const std::string dead = Quote(config_.table + "_dead_letter");
  const std::string id(row.substr(0, row.find('\t')));
  const std::string text(row.substr(0, row.size() - 1));
  const char* params[] = {id.c_str(), agent_id.c_str(), state.c_str(), error.c_str(), text.c_str()};
  PgResult r(PQexecParams(c,
                          ("INSERT INTO " + dead + " (id, agent_id, sqlstate, error, row_text) "
                           "VALUES ($1::uuid, $2, $3, $4, $5) ON CONFLICT DO NOTHING").c_str(),
                          5, nullptr, params, nullptr, nullptr, 0));
  if (PQresultStatus(r.get()) != PGRES_COMMAND_OK)
    return Status::Unavailable("cannot dead-letter a refused row: " + ErrorOf(c, r.get()));
  return Status::Ok();
}

Result<size_t> PostgresSink::Store(const std::vector<DeadLetter>& letters) {
  if (letters.empty()) return size_t{0};
  Conn conn = Borrow();
  Status s;
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) s = Connect(&conn);
  if (s.ok() && !DeadLetterRoom(conn.get())) {
    dead_letters_dropped_ += letters.size();
    Return(std::move(conn));
    return size_t{0};
  }
  size_t kept = 0;
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
    else kept += static_cast<size_t>(std::strtoul(PQcmdTuples(r.get()), nullptr, 10));
  }
  if (s.ok()) s = Exec(conn.get(), "COMMIT");
  if (!s.ok() && conn) Exec(conn.get(), "ROLLBACK");
  if (!s.ok()) conn.reset();
  Return(std::move(conn));
  if (!s.ok()) return Status::Unavailable("cannot store dead letters in " + config_.table + "_dead_letter: " + s.message());
  return s.ok() ? kept : 0;
}

bool PostgresSink::DeadLetterRoom(PGconn* c) {
  const auto now = std::chrono::steady_clock::now();
  {
    MutexLock lock(mu_);
    if (now < dead_letter_checked_ + std::chrono::seconds(30)) return !dead_letter_full_;
    dead_letter_checked_ = now;
  }
  PgResult r(PQexec(c, ("SELECT pg_total_relation_size('" + Quote(config_.table + "_dead_letter") + "'::regclass)").c_str()));
  const bool full = PQresultStatus(r.get()) == PGRES_TUPLES_OK && PQntuples(r.get()) == 1 &&
                    std::strtoull(PQgetvalue(r.get(), 0, 0), nullptr, 10) >= config_.dead_letter_max_bytes;
  MutexLock lock(mu_);
  if (full && !dead_letter_full_)
    LogError(kComponent, config_.table + "_dead_letter reached its limit of " +
                             std::to_string(config_.dead_letter_max_bytes) +
                             " bytes; further refused records are counted, not kept");
  dead_letter_full_ = full;
  return !full;
}

}  // namespace logship::collector::postgres
