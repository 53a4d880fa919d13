// `collector:` in agent.yaml: where and how the shipper sends.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace logship::agent {

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
  // How long one connection attempt (TCP, TLS, HTTP/2 settings) may take before it is given
  // up: long enough for a slow link or a loaded collector's TLS handshake.
  std::chrono::milliseconds connect_timeout{10000};
};

}  // namespace logship::agent
