// collector.yaml, as in ../shared/design.md. Loading throws ConfigError. Each `sinks:`
// section is parsed by its plugin (collector/sinks/<type>/); this file names none.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "collector/console/console_config.h"
#include "collector/delivery/sink_health_monitor.h"
#include "collector/inputs/input_plugin.h"
#include "collector/pipeline/pipeline.h"
#include "collector/server/server_config.h"
#include "collector/sinks/sink_plugin.h"
#include "common/config/config_node.h"

namespace logship::collector {

struct CollectorConfig {
  std::optional<ServerTlsConfig> tls;
  std::vector<AgentToken> tokens;  // empty: no token required (logged loudly)
  // Loopback unless configured: listening beyond it needs authentication (auth.tokens, or
  // mTLS with tls.client_ca_file) or an explicit `insecure: true`.
  std::string listen = "127.0.0.1:4740";
  bool insecure = false;
  // The collector's own files: dead letters when no sink keeps them.
  std::string data_dir = "/var/lib/logship-collector";
  std::string DeadLetterDir() const { return data_dir + "/dead-letter"; }
  // Each dead-letter store (file or table) keeps at most this much; beyond it refused records
  // are counted and dropped, so a flood of them cannot fill the disk.
  uint64_t dead_letter_max_bytes = 1ull << 30;
  Limits limits;
  // Threads that decode and write what agents send (0: from the cores, DefaultIngestWorkers).
  uint32_t ingest_workers = 0;
  // In plugin registration order (the order required sinks are written in); at least one,
  // and at least one required.
  std::vector<std::shared_ptr<const SinkConfig>> sinks;
  SinkHealthConfig health;
  std::shared_ptr<const Pipeline> pipeline;      // never null
  HttpConfig http{"0.0.0.0:9740", "", ""};  // /metrics, /healthz (and the console); listen "" = off
  std::optional<console::ConsoleConfig> console;  // web console on http.listen; nullopt = off
  // `inputs:` (the indexer role reads Kafka: README "Kafka"); none by default.
  std::vector<std::shared_ptr<const InputConfig>> inputs;

  // The sink of this type, as its plugin's config class; nullptr when not configured.
  template <typename T>
  const T* SinkOf(std::string_view type) const {
    for (const auto& s : sinks)
      if (s->type == type) return static_cast<const T*>(s.get());
    return nullptr;
  }
};

CollectorConfig LoadCollectorConfig(const std::string& path);
CollectorConfig ParseCollectorConfig(const std::string& yaml_text, const std::string& name);

}  // namespace logship::collector
