// The `sinks.postgres` section of collector.yaml, beside the sink it configures.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "collector/sinks/sink_plugin.h"

namespace logship::collector::postgres {

struct PostgresConfig : SinkConfig {
  std::string dsn;
  std::string read_dsn;                 // a streaming replica for read paths; writes use dsn
  std::string table = "logs";
  uint32_t connections = 4;             // writer threads, each with its own connection
  uint64_t batch_rows = 20000;          // rows written in one transaction, across streams
  std::chrono::milliseconds batch_linger{0};  // wait this long for more streams' batches
  uint32_t partitions_ahead_days = 2;
  uint32_t partitions_by_host = 0;      // > 0: each day is hash-partitioned by host into N
  bool attributes_index = false;        // GIN index on attributes
  bool search_indexes = false;          // for the console: pg_trgm GIN on body, btree on (ts, id)
  uint32_t retention_days = 0;          // 0: keep everything
  std::string archive_dir;              // set: a partition is archived (COPY, zstd) before its drop
  std::chrono::milliseconds retention_interval{3600000};
  // A batch failing with a retryable error while other writes succeed: after this long its
  // rows are written one by one and the ones still failing go to the dead letter.
  std::chrono::milliseconds give_up_after{600000};
  uint64_t dead_letter_max_bytes = 1ull << 30;  // <table>_dead_letter; the collector's dead_letter_max_bytes
};

// Parses the map under `sinks.postgres`; throws ConfigError with file:line:col.
std::unique_ptr<SinkConfig> ParsePostgresConfig(ConfigMap& m);

}  // namespace logship::collector::postgres
