// agent.yaml, as in ../shared/design.md "Configuration shape". Loading throws ConfigError
// ("file:line:col: message"); every field has its default here.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/sources/file/multiline.h"
#include "agent/sources/source.h"
#include "agent/spool/spool.h"
#include "common/config/config_node.h"

namespace logship::agent {

struct FileSourceConfig {
  std::string name;                             // metrics label; default "file-<index>"
  // Checkpoint key ("file:<name>"): two sources tailing one file keep two positions.
  std::string key;
  std::vector<std::string> include;             // glob patterns (required)
  std::vector<std::string> exclude;             // fnmatch patterns on the full path or base name
  bool start_at_beginning = false;              // for files present at start-up
  uint64_t max_line_bytes = 1ull << 20;         // longer lines are split, flagged, never dropped
  uint64_t fingerprint_bytes = 1024;            // identity: hash of the first line, up to this
  std::chrono::milliseconds poll_interval{1000};// stat polling behind inotify; glob rescans
  std::chrono::milliseconds rotate_wait{5000};  // a rotated/deleted file is kept this long after its last growth
  bool follow_symlinks = false;                 // tail files behind links (and hard links of other users)
  std::optional<MultilineOptions> multiline;    // grouping of continuation lines
  Attributes attributes;
};

struct JournaldSourceConfig {
  std::string name;                              // metrics label; default "journald-<index>"
  std::string directory;                         // empty: the system journal
  std::vector<std::string> units;                // _SYSTEMD_UNIT filter (any of)
  std::vector<int> priorities;                   // PRIORITY filter (any of), 0..7
  bool start_at_beginning = false;               // at the data_dir's first start
  uint64_t max_line_bytes = 1ull << 20;          // a longer MESSAGE is split into flagged parts
  std::chrono::milliseconds poll_interval{1000}; // fallback wake-up behind inotify
  Attributes attributes;

  // Checkpoint key: sources with different journals or filters keep separate cursors.
  std::string Key() const;
};

struct BatchConfig {
  uint32_t max_records = 2000;
  uint64_t max_bytes = 1ull << 20;
  std::chrono::milliseconds linger{200};
};

struct ClientTlsConfig {
  std::string ca_file;      // trusted roots for the collector's certificate (required)
  std::string cert_file;    // client certificate, for mTLS (optional, with key_file)
  std::string key_file;
  std::string server_name;  // expected name in the collector's certificate; default: endpoint host
};

struct CollectorClientConfig {
  std::optional<ClientTlsConfig> tls;
  std::vector<std::string> endpoints;           // host:port (required)
  std::string token_file;                       // optional bearer token
  uint32_t max_in_flight = 8;
  std::chrono::milliseconds backoff_min{200};
  std::chrono::milliseconds backoff_max{30000};
};

struct AgentConfig {
  std::string agent_id;                         // default: the host name
  std::string host;                             // the host name
  std::string data_dir = "/var/lib/logship";
  std::vector<FileSourceConfig> file_sources;
  std::vector<JournaldSourceConfig> journald_sources;
  BatchConfig batch;
  int compression_level = 1;
  spool::SpoolOptions spool;                    // dir = <data_dir>/spool
  std::chrono::milliseconds fsync_interval{1000};
  CollectorClientConfig collector;
  HttpConfig http{"127.0.0.1:9741", "", ""};   // /metrics and /healthz; listen "" = off
};

// Throws ConfigError.
AgentConfig LoadAgentConfig(const std::string& path);
AgentConfig ParseAgentConfig(const std::string& yaml_text, const std::string& name);

}  // namespace logship::agent
