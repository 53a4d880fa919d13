// `type: syslog` in agent.yaml (README "Syslog source"). Parsing throws ConfigError.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/sources/source_plugin.h"
#include "common/config/tls_files.h"

namespace logship::agent {

// TLS on a TCP listener: PEM files, read when the source starts.
using SyslogTlsConfig = ServerTlsFiles;

// One `listen:` entry.
struct SyslogEndpoint {
  enum class Protocol { kTcp, kUdp };
  Protocol protocol = Protocol::kTcp;
  std::string address;                  // "IP:port" as written ("[::1]:514" for IPv6)
  sockaddr_storage sockaddr{};          // parsed from `address`
  std::optional<SyslogTlsConfig> tls;   // TCP only
  bool loopback = false;                // the address is a loopback one

  // "tcp 127.0.0.1:514", "tls 0.0.0.0:6514", "udp [::]:514": for logs and health.
  std::string Describe() const;
};

struct SyslogSourceConfig : SourceConfig {
  std::vector<SyslogEndpoint> listen;               // at least one
  uint64_t max_message_bytes = 64 << 10;            // longer messages become flagged parts
  uint32_t max_connections = 256;                   // TCP connections at once, all listeners
  std::chrono::milliseconds idle_timeout{600000};   // a TCP connection silent this long is closed
  // Checkpoint key "syslog:<name>" (the default): the sequence belongs to the source.
};

// The keys after `type`, `name` and `attributes` of one `sources:` entry.
std::unique_ptr<SourceConfig> ParseSyslogSource(ConfigMap& m);

// "IP:port" / "[IPv6]:port" / "localhost:port" into *out; false when it is not one.
bool ParseSyslogAddress(const std::string& address, sockaddr_storage* out);

}  // namespace logship::agent
