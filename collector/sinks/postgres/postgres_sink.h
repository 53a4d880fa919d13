// PostgreSQL sink (libpq). Migrates its schema on first connect (schema.h), then writes
// batches with COPY straight into the day-partitioned table. `connections` writer threads
// each take what the streams have queued (up to batch_rows rows, waiting batch_linger for
// more) and write it as one transaction, so many agents cost few commits. Only a
// batch that hits the unique key (a re-send after a crash or lost ack) takes the slower
// path: COPY into a temporary staging table and INSERT … ON CONFLICT DO NOTHING. A batch
// with a row PostgreSQL refuses (data exception, check violation…) is written row by row
// and the refused rows go to <table>_dead_letter with the error, so one bad row never
// blocks a stream. Acks wait for COMMIT.
//
// With retention_days, a background thread drops day partitions older than that
// (optionally archiving each as a zstd-compressed COPY file first).
//
// Thread-safe: Write() may run on several threads; each borrows a connection from a
// small pool (config.connections).
#pragma once

#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <deque>
#include <map>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "collector/model/dead_letter_store.h"
#include "collector/sinks/postgres/postgres_config.h"
#include "collector/sinks/poison_tracker.h"
#include "collector/sinks/sink.h"
#include "common/thread/mutex.h"

namespace logship::collector::postgres {

class PostgresSink final : public Sink, public DeadLetterStore {
 public:
  explicit PostgresSink(PostgresConfig config);
  ~PostgresSink() override;

  std::string_view name() const override { return "postgres"; }
  WriteResult Write(const DecodedBatch& batch) override;
  // Unhealthy when the server is unreachable or the last write failed (e.g. permissions).
  Status HealthCheck() override;
  void RegisterMetrics(metrics::Registry& registry) override;

  // DeadLetterStore: other sinks' refused records go to <table>_dead_letter too.
  Result<size_t> Store(const std::vector<DeadLetter>& letters) override;
  std::string Describe() const override { return "postgres table " + config_.table + "_dead_letter"; }
  DeadLetterStore* dead_letters() override { return this; }
  // PgLogReader on read_dsn (else dsn).
  std::unique_ptr<LogReader> NewReader(uint32_t connections, std::chrono::milliseconds timeout) override;

  // One retention pass (also run by the background thread). Returns partitions dropped.
  Result<int> EnforceRetention();

 private:
  struct ConnDeleter { void operator()(PGconn* c) const { PQfinish(c); } };
  using Conn = std::unique_ptr<PGconn, ConnDeleter>;

  // A batch waiting for a writer thread; Write() blocks until `done`.
  struct Pending {
    const DecodedBatch* batch = nullptr;
    std::string rows;  // COPY text
    size_t records = 0;
    bool done = false;  // guarded by queue_mu_ (the enclosing sink's)
    WriteResult result;
  };
  void WriterLoop();
  size_t QueuedRows() const REQUIRES(queue_mu_);
  bool SleepUnlessStopping(std::chrono::milliseconds d) EXCLUDES(retention_mu_);  // true: stopping
  void WriteGroup(Conn* conn, const std::vector<Pending*>& group);
  WriteResult WriteOne(PGconn* conn, const Pending& p);

  Conn Borrow();
  void Return(Conn conn);
  Status Connect(Conn* conn);
  Status EnsurePartitions(PGconn* conn, const std::vector<int64_t>& days);
  // One COPY of `rows`; *state is the SQLSTATE on failure.
  Status CopyRows(PGconn* conn, const std::string& target, const std::vector<std::string_view>& parts,
                  std::string* state);
  WriteResult WriteConflictSafe(PGconn* conn, const DecodedBatch& batch, const std::string& rows);
  // `failing`: how the batch has fared so far; once expired, rows failing with a retryable
  // error are dead-lettered too (when the server takes other rows).
  WriteResult WriteRowByRow(PGconn* conn, const DecodedBatch& batch, const std::string& rows,
                            PoisonTracker::Verdict failing);
  static std::string BatchKey(const DecodedBatch& batch);
  Status KeepRow(PGconn* conn, const std::string& agent_id, std::string_view row, const std::string& state,
                 const std::string& error);
  Status ArchivePartition(PGconn* conn, const std::string& partition);
  // The day retention counts from (days since the epoch): see the guard in its comment.
  int64_t RetentionToday(PGconn* conn);
  // False while <table>_dead_letter holds dead_letter_max_bytes or more (checked every 30 s).
  bool DeadLetterRoom(PGconn* conn);
  void RetentionLoop();

  const PostgresConfig config_;
  const std::string table_;  // quoted identifier

  Mutex mu_;
  CondVar returned_;
  std::vector<Conn> idle_ GUARDED_BY(mu_);
  uint32_t outstanding_ GUARDED_BY(mu_) = 0;  // connections lent out or being made
  bool schema_ready_ GUARDED_BY(mu_) = false;
  std::set<int64_t> partitions_ GUARDED_BY(mu_);  // days known to have a partition
  std::map<int64_t, std::chrono::steady_clock::time_point> failed_partitions_ GUARDED_BY(mu_);  // retry after
  std::string last_write_error_ GUARDED_BY(mu_);  // empty after a successful write
  int64_t retention_day_ GUARDED_BY(mu_) = INT64_MIN;  // today at the last pass
  std::chrono::steady_clock::time_point dead_letter_checked_ GUARDED_BY(mu_);
  bool dead_letter_full_ GUARDED_BY(mu_) = false;
  std::chrono::steady_clock::time_point retention_checked_ GUARDED_BY(mu_);

  mutable Mutex queue_mu_;
  CondVar queued_, written_;
  std::deque<Pending*> queue_ GUARDED_BY(queue_mu_);
  bool stopping_writers_ GUARDED_BY(queue_mu_) = false;
  std::vector<std::thread> writers_;

  PoisonTracker poison_;            // batches failing retryably (see WriteRowByRow)
  std::atomic<uint64_t> dead_letters_dropped_{0};
  std::atomic<uint64_t> dead_lettered_{0}, conflict_batches_{0}, dropped_partitions_{0}, transactions_{0};
  std::thread retention_;
  Mutex retention_mu_;
  CondVar retention_wake_;
  bool stopping_ GUARDED_BY(retention_mu_) = false;
};

}  // namespace logship::collector::postgres
