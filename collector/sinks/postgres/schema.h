// The PostgreSQL schema as numbered migrations, applied on start inside one transaction
// under an advisory lock, so several collectors starting together neither race nor apply
// a step twice. `<table>_schema_version` records what was applied.
//
//   1  <table>: range-partitioned by day on ts, UNIQUE (id, ts) — (id, ts, host) with
//      partitions_by_host — a DEFAULT partition, BRIN on ts, partial indexes on
//      trace_id and correlation_id
//   2  <table>_dead_letter: rows PostgreSQL refused, with the error
//   3  <table>_dead_letter.sink: which sink refused the row (postgres, elasticsearch);
//      unique on (id, sink), so a re-sent refusal is kept once
// Not numbered, applied at every start when configured: the GIN index on attributes
// (attributes_index: true).
#pragma once

#include <libpq-fe.h>

#include <string>

#include "collector/sinks/postgres/postgres_config.h"
#include "common/status.h"

namespace logship::collector::postgres {

// Arbitrary but fixed: every logship collector serialises its DDL on this key.
inline constexpr const char* kSchemaLockKey = "7406174061";

// Brings the schema to the newest version. Returns the version now in place.
Result<int> MigrateSchema(PGconn* conn, const PostgresConfig& config);

}  // namespace logship::collector::postgres
