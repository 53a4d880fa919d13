#include "collector/sinks/postgres/schema.h"

#include <vector>

#include "collector/sinks/postgres/pg_util.h"
#include "common/log.h"

namespace logship::collector::postgres {
namespace {

struct Migration {
  int version;
  std::string sql;
};

std::vector<Migration> Migrations(const PostgresConfig& c) {
  const std::string t = Quote(c.table), b = c.table;
  const std::string unique = c.partitions_by_host > 0 ? "(id, ts, host)" : "(id, ts)";
  std::vector<Migration> m;
  m.push_back({1,
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
               " CONSTRAINT " + Quote(b + "_id_ts_key") + " UNIQUE " + unique +
               ") PARTITION BY RANGE (ts);"
               // Catches rows whose day has no partition, so a far-off timestamp never fails a batch.
               "CREATE TABLE IF NOT EXISTS " + Quote(b + "_default") + " PARTITION OF " + t + " DEFAULT;"
               "CREATE INDEX IF NOT EXISTS " + Quote(b + "_ts_idx") + " ON " + t + " USING brin (ts);"
               "CREATE INDEX IF NOT EXISTS " + Quote(b + "_trace_id_idx") + " ON " + t +
               " (trace_id) WHERE trace_id IS NOT NULL;"
               "CREATE INDEX IF NOT EXISTS " + Quote(b + "_correlation_id_idx") + " ON " + t +
               " (correlation_id) WHERE correlation_id IS NOT NULL;"});
  m.push_back({2,
               "CREATE TABLE IF NOT EXISTS " + Quote(b + "_dead_letter") + " ("
               " id uuid,"
               " received_at timestamptz NOT NULL DEFAULT now(),"
               " agent_id text,"
               " sqlstate text NOT NULL,"
               " error text NOT NULL,"
               " row_text text NOT NULL);"});
  // Other sinks (Elasticsearch) keep their refused documents here too.
  // A re-sent batch meets the same refusal again: (id, sink) keeps each dead letter once.
  m.push_back({3,
               "ALTER TABLE " + Quote(b + "_dead_letter") + " ADD COLUMN IF NOT EXISTS sink text NOT NULL DEFAULT 'postgres';"
               "DELETE FROM " + Quote(b + "_dead_letter") + " a USING " + Quote(b + "_dead_letter") +
               " b WHERE a.ctid < b.ctid AND a.id = b.id AND a.sink = b.sink;"
               "CREATE UNIQUE INDEX IF NOT EXISTS " + Quote(b + "_dead_letter_id_sink_key") + " ON " +
               Quote(b + "_dead_letter") + " (id, sink);"});
  return m;
}

}  // namespace

Result<int> MigrateSchema(PGconn* c, const PostgresConfig& config) {
  const std::string versions = Quote(config.table + "_schema_version");
  std::string sql = "BEGIN; SELECT pg_advisory_xact_lock(" + std::string(kSchemaLockKey) +
                    "); CREATE TABLE IF NOT EXISTS " + versions +
                    " (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());";
  if (Status s = Exec(c, sql); !s.ok()) {
    Exec(c, "ROLLBACK");
    return s;
  }
  // Under the lock: read what is applied, apply the rest, all in this transaction.
  PgResult r(PQexec(c, ("SELECT coalesce(max(version), 0) FROM " + versions).c_str()));
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
    Status s = Status::Unavailable(SqlState(r.get()) + ": " + ErrorOf(c, r.get()));
    Exec(c, "ROLLBACK");
    return s;
  }
  int current = std::atoi(PQgetvalue(r.get(), 0, 0));
  // The record says migrated, but the table is gone (dropped by hand): build it again.
  PgResult exists(PQexec(c, ("SELECT to_regclass('" + Quote(config.table) + "') IS NOT NULL").c_str()));
  if (current > 0 && PQresultStatus(exists.get()) == PGRES_TUPLES_OK && PQgetvalue(exists.get(), 0, 0)[0] == 'f') {
    LogWarn("postgres", "table " + config.table + " is missing although its schema is at version " +
                            std::to_string(current) + "; creating it again");
    if (Status s = Exec(c, "DELETE FROM " + versions); !s.ok()) {
      Exec(c, "ROLLBACK");
      return s;
    }
    current = 0;
  }
  int version = current;
  for (const auto& m : Migrations(config)) {
    if (m.version <= current) continue;
    Status s = Exec(c, m.sql);
    if (s.ok()) s = Exec(c, "INSERT INTO " + versions + " (version) VALUES (" + std::to_string(m.version) + ")");
    if (!s.ok()) {
      Exec(c, "ROLLBACK");
      return Status::Unavailable("schema migration " + std::to_string(m.version) + " of table " + config.table +
                                 " failed: " + s.message());
    }
    version = m.version;
  }
  // Optional, so not a numbered step: turned on (or not) at every start.
  if (config.attributes_index) {
    const std::string idx = "CREATE INDEX IF NOT EXISTS " + Quote(config.table + "_attributes_idx") + " ON " +
                            Quote(config.table) + " USING gin (attributes jsonb_path_ops)";
    if (Status s = Exec(c, idx); !s.ok()) {
      Exec(c, "ROLLBACK");
      return s;
    }
  }
  // The console's search: free text (body ILIKE '%…%') through a trigram index, and newest
  // first / cursor paging (ORDER BY ts DESC, id DESC) through a btree, instead of sorting
  // every row of the range. Optional: both cost some ingest throughput.
  if (config.search_indexes) {
    const std::string t = Quote(config.table);
    const std::string idx = "CREATE EXTENSION IF NOT EXISTS pg_trgm; CREATE INDEX IF NOT EXISTS " +
                            Quote(config.table + "_body_trgm_idx") + " ON " + t + " USING gin (body gin_trgm_ops);" +
                            "CREATE INDEX IF NOT EXISTS " + Quote(config.table + "_ts_id_idx") + " ON " + t + " (ts, id)";
    if (Status s = Exec(c, idx); !s.ok()) {
      Exec(c, "ROLLBACK");
      return Status::Unavailable("search_indexes (needs the pg_trgm extension, one of PostgreSQL's contrib modules): " + s.message());
    }
  }
  if (Status s = Exec(c, "COMMIT"); !s.ok()) return s;
  if (version != current)
    LogInfo("postgres", "schema of " + config.table + " migrated from version " + std::to_string(current) + " to " +
                            std::to_string(version));
  return version;
}

}  // namespace logship::collector::postgres
