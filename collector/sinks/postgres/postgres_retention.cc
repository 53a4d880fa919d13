// Retention: partitions older than retention_days are archived (optionally) and dropped, by a
// background thread, guarded against clock jumps.
#include <fcntl.h>
#include <unistd.h>
#include <zstd.h>

#include "collector/sinks/postgres/postgres_sink.h"

#include "collector/sinks/postgres/copy_encoder.h"
#include "collector/sinks/postgres/partition_days.h"
#include "collector/sinks/postgres/pg_util.h"
#include "collector/sinks/postgres/retry.h"
#include "collector/sinks/postgres/schema.h"
#include "common/file_util.h"
#include "common/log.h"
#include "common/thread/mutex.h"

namespace logship::collector::postgres {
namespace {
constexpr std::string_view kComponent = "postgres";
}  // namespace

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
        MutexLock lock(mu_);
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
  MutexLock lock(mu_);
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
  while (!SleepUnlessStopping(config_.retention_interval)) {
    if (auto r = EnforceRetention(); !r.ok()) LogWarn(kComponent, "retention pass failed: " + r.status().message());
  }
}

bool PostgresSink::SleepUnlessStopping(std::chrono::milliseconds d) {
  MutexLock lock(retention_mu_);
  const auto until = std::chrono::steady_clock::now() + d;
  while (!stopping_ && retention_wake_.WaitUntil(retention_mu_, until)) {
  }
  return stopping_;
}

}  // namespace logship::collector::postgres
