// PostgreSQL sink (libpq). Creates its schema on first connect (idempotent, under an
// advisory lock so several collectors can start together), then writes each batch with
// COPY straight into the partitioned table in one transaction. Only a batch that hits the
// unique key (a re-send after a crash or lost ack) takes the slower path: COPY into a
// temporary staging table and INSERT … ON CONFLICT DO NOTHING. Acks wait for COMMIT.
//
// Thread-safe: Write() may run on several threads; each borrows a connection from a
// small pool (config.connections).
#pragma once

#include <libpq-fe.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "collector/collector_config.h"
#include "collector/sinks/sink.h"

namespace logship::collector::postgres {

class PostgresSink final : public Sink {
 public:
  explicit PostgresSink(PostgresConfig config);
  ~PostgresSink() override;

  std::string_view name() const override { return "postgres"; }
  WriteResult Write(const DecodedBatch& batch) override;
  Status HealthCheck() override;

 private:
  struct ConnDeleter { void operator()(PGconn* c) const { PQfinish(c); } };
  using Conn = std::unique_ptr<PGconn, ConnDeleter>;

  Conn Borrow();
  void Return(Conn conn);
  Status Connect(Conn* conn);
  Status EnsureSchema(PGconn* conn);
  Status EnsurePartitions(PGconn* conn, const std::vector<int64_t>& days);
  // One attempt; *duplicate is set when the unique key was hit.
  Status CopyBatch(PGconn* conn, const std::string& target, const std::string& rows, bool* duplicate);
  WriteResult WriteConflictSafe(PGconn* conn, const std::string& rows);

  const PostgresConfig config_;
  const std::string table_;  // quoted identifier

  std::mutex mu_;
  std::condition_variable returned_;
  std::vector<Conn> idle_;          // GUARDED_BY(mu_)
  uint32_t outstanding_ = 0;        // GUARDED_BY(mu_): connections lent out or being made
  bool schema_ready_ = false;       // GUARDED_BY(mu_)
  std::set<int64_t> partitions_;    // GUARDED_BY(mu_): days known to have a partition
};

}  // namespace logship::collector::postgres
