// collector.yaml, as in ../shared/design.md. Loading throws ConfigError.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <memory>
#include <vector>

#include "collector/console/console_config.h"
#include "collector/pipeline/pipeline.h"
#include "common/config/config_node.h"
#include "collector/sinks/elasticsearch/elasticsearch_config.h"

namespace logship::collector {

struct Limits {
  uint64_t max_frame_bytes = 16ull << 20;         // compressed payload per frame
  uint64_t max_uncompressed_bytes = 64ull << 20;  // per batch, after decompression
  uint32_t max_records = 100000;                  // per batch
  uint32_t max_attributes = 256;                  // per record (and per source)
  uint64_t max_attribute_bytes = 64 << 10;        // key + value
  uint64_t max_inflight_bytes = 256ull << 20;     // all streams together; reading stops beyond
  uint64_t stream_window_bytes = 1ull << 20;      // HTTP/2 receive window per stream (fixed, no BDP growth)
  uint64_t max_otlp_request_bytes = 8ull << 20;   // one OTLP Export request
  // Event times (from log content) are clamped to this window around the observed time.
  std::chrono::nanoseconds event_time_max_past{std::chrono::hours(24 * 7)};
  std::chrono::nanoseconds event_time_max_future{std::chrono::hours(1)};
  EventTimeWindow time_window() const { return {event_time_max_past.count(), event_time_max_future.count()}; }
};

struct HealthConfig {
  std::chrono::milliseconds check_interval{5000};   // sink health checks
  std::chrono::milliseconds unhealthy_after{30000}; // logship.v1.Ingest NOT_SERVING after this long
};

struct PostgresConfig {
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
  uint64_t dead_letter_max_bytes = 1ull << 30;  // <table>_dead_letter; set from the collector's
};

// How a sink takes part in acks (fan-out rule, batch_writer.h): a required sink must
// commit a batch before it is acked; an optional one is fed from a bounded queue.
struct SinkDelivery {
  bool required = true;
  uint64_t queue_max_bytes = 64ull << 20;  // optional sinks: batches waiting beyond this are dropped (counted)
};

struct ServerTlsConfig {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;  // set: clients must present a certificate signed by it (mTLS)
};

struct AgentToken {
  std::string agent;       // "*": a fleet token, good for any agent id (ids bound to the claimed one)
  std::string token_file;
};

struct CollectorConfig {
  std::optional<ServerTlsConfig> tls;
  std::vector<AgentToken> tokens;  // empty: no token required (logged loudly)
  // Loopback unless configured: listening beyond it needs authentication (auth.tokens, or
  // mTLS with tls.client_ca_file) or an explicit `insecure: true`.
  std::string listen = "127.0.0.1:4740";
  bool insecure = false;
  // The collector's own files: dead letters when there is no PostgreSQL sink.
  std::string data_dir = "/var/lib/logship-collector";
  std::string DeadLetterDir() const { return data_dir + "/dead-letter"; }
  // Each dead-letter store (file or table) keeps at most this much; beyond it refused records
  // are counted and dropped, so a flood of them cannot fill the disk.
  uint64_t dead_letter_max_bytes = 1ull << 30;
  Limits limits;
  std::optional<PostgresConfig> postgres;
  SinkDelivery postgres_delivery;
  std::optional<elasticsearch::ElasticsearchConfig> elasticsearch;
  SinkDelivery elasticsearch_delivery;
  bool blackhole = false;
  SinkDelivery blackhole_delivery;
  std::chrono::milliseconds blackhole_delay{0};  // per batch: a slow sink, for tests
  HealthConfig health;
  std::shared_ptr<const Pipeline> pipeline;      // never null
  HttpConfig http{"0.0.0.0:9740", "", ""};  // /metrics, /healthz (and the console); listen "" = off
  std::optional<console::ConsoleConfig> console;  // web console on http.listen; nullopt = off
};

CollectorConfig LoadCollectorConfig(const std::string& path);
CollectorConfig ParseCollectorConfig(const std::string& yaml_text, const std::string& name);

}  // namespace logship::collector
