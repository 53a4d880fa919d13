// The `sinks.elasticsearch` section of collector.yaml, beside the sink it configures.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "collector/sinks/sink_plugin.h"

namespace logship::collector::elasticsearch {

struct ElasticsearchConfig : SinkConfig {
  std::vector<std::string> urls;            // tried in turn; a failed one is skipped for a while
  // Exactly one of these: an index name with strftime fields (UTC, from the record's
  // @timestamp), or a data stream name (create-only, @timestamp required).
  std::string index = "logs-logship-%Y.%m.%d";
  std::string data_stream;
  // Auth: basic (username + password_file) or an API key (the base64 "encoded" value).
  std::string username;
  std::string password_file;
  std::string api_key_file;
  std::string ca_file;                      // PEM bundle for https URLs; empty: system CAs
  bool tls_verify = true;
  uint64_t bulk_max_bytes = 5ull << 20;     // uncompressed NDJSON per _bulk request
  uint32_t concurrency = 4;                 // _bulk requests in flight (one connection each)
  // Content-Encoding: gzip request bodies. Off by default: a collector usually sits next to
  // its cluster, where gzip costs both sides CPU (measured: the collector 9.8 → 5.7 CPU s per
  // million documents, the node less too) to save bandwidth that is not short.
  bool gzip = false;
  int gzip_level = 1;
  std::chrono::milliseconds timeout{30000}; // per request
  // retry_budget/retry_min/retry_max are the collector's (SinkDelivery): a batch whose
  // documents fail with 429/5xx is handed back and tried again (re-sent documents meet 409).
  // A document failing retryably while others are stored goes to the dead letter after this.
  std::chrono::milliseconds give_up_after{600000};
  // On start: PUT the index template and the lifecycle policy (off: the cluster's own).
  bool manage_template = true;
  std::string template_name = "logship";
  // Above the engines' built-in `logs-*-*` (100). Overlapping templates may not share a
  // priority: a data stream's exact name (210) wins over the dated pattern (200).
  uint32_t template_priority = 200;
  std::string policy_name = "logship";
  uint32_t retention_days = 30;             // ILM delete phase; 0: never delete
  std::string rollover_max_age = "1d";      // data streams only
  std::string rollover_max_primary_shard_size = "50gb";
  std::string dead_letter_dir;              // item rejects go here when no sink keeps them (a table); default <data_dir>/dead-letter
};

// Parses the map under `sinks.elasticsearch`; throws ConfigError with file:line:col.
ElasticsearchConfig ParseElasticsearchConfig(ConfigMap& m);

// The index template's index_patterns: the data stream name, or the index with each
// strftime field replaced by `*` ("logs-logship-%Y.%m.%d" -> "logs-logship-*").
std::string IndexPattern(const ElasticsearchConfig& config);

}  // namespace logship::collector::elasticsearch
