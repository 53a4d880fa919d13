// The `tls:` block of a server endpoint (the collector's gRPC listener, the syslog source's
// TCP listeners): {cert_file, key_file, client_ca_file}. Paths only; loading them is the
// caller's (common/grpc_tls.h, OpenSSL).
#pragma once

#include <string>

#include "common/config/config_node.h"

namespace logship {

struct ServerTlsFiles {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;  // set: clients must present a certificate signed by it (mTLS)
};

// Throws ConfigError (cert_file and key_file are required; unknown keys are errors).
inline ServerTlsFiles ParseServerTlsFiles(const ConfigNode& node) {
  ConfigMap t(node);
  ServerTlsFiles tls;
  tls.cert_file = t.Require("cert_file").AsString();
  tls.key_file = t.Require("key_file").AsString();
  tls.client_ca_file = t.String("client_ca_file", "");
  t.Finish();
  return tls;
}

}  // namespace logship
