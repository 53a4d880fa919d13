#pragma once

#include <string>

namespace logship::collector {

// Asks the grpc.health.v1 service at `address` about the overall server (""). Returns the
// exit code of `logship-collector healthcheck`: 0 when SERVING, 1 otherwise.
// With `ca_file` set the probe uses TLS (and mTLS when cert_file/key_file are set too).
struct HealthcheckTls {
  std::string ca_file, cert_file, key_file, server_name;
};
int RunHealthcheck(const std::string& address, int timeout_ms, const HealthcheckTls& tls,
                   const std::string& service = "");

}  // namespace logship::collector
