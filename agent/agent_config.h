// agent.yaml, as in ../shared/design.md "Configuration shape". Loading throws ConfigError
// ("file:line:col: message"); every field has its default here. Each `sources:` entry is
// parsed by its plugin (agent/sources/<type>/); this file names none.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "agent/flow/batcher.h"
#include "agent/shipper/shipper_config.h"
#include "agent/sources/source_plugin.h"
#include "agent/spool/spool.h"
#include "common/config/config_node.h"

namespace logship::agent {

struct AgentConfig {
  std::string agent_id;                         // default: the host name
  std::string host;                             // the host name
  std::string data_dir = "/var/lib/logship";
  std::vector<std::shared_ptr<const SourceConfig>> sources;  // at least one; names unique
  BatchConfig batch;
  int compression_level = 1;
  spool::SpoolOptions spool;                    // dir = <data_dir>/spool
  std::chrono::milliseconds fsync_interval{1000};
  CollectorClientConfig collector;
  HttpConfig http{"127.0.0.1:9741", "", ""};   // /metrics and /healthz; listen "" = off

  // The sources of one plugin type, as that plugin's config class (for tests and tools).
  template <typename T>
  std::vector<const T*> SourcesOf(std::string_view type) const {
    std::vector<const T*> out;
    for (const auto& s : sources)
      if (s->type == type) out.push_back(static_cast<const T*>(s.get()));
    return out;
  }
};

// Throws ConfigError.
AgentConfig LoadAgentConfig(const std::string& path);
AgentConfig ParseAgentConfig(const std::string& yaml_text, const std::string& name);

}  // namespace logship::agent
