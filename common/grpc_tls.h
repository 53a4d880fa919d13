// gRPC TLS credentials from PEM files (the agent's channel, the collector's server, the
// healthcheck probe). Reading happens here once; errors name the setting and the file.
#pragma once

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "common/status.h"

namespace logship {

// PEM files of one side of a TLS connection. `what` prefixes errors ("collector.tls").
struct TlsFiles {
  std::string what;
  std::string ca_file;    // client: roots that verify the server; server: roots that verify clients (mTLS)
  std::string cert_file;  // own certificate chain (a client's only for mTLS)
  std::string key_file;
};

// A client's: the server verified against ca_file; cert_file/key_file presented when set.
Result<std::shared_ptr<grpc::ChannelCredentials>> ClientTlsCredentials(const TlsFiles& files);
// A server's: cert_file/key_file; with ca_file, clients must present a certificate it signed.
Result<std::shared_ptr<grpc::ServerCredentials>> ServerTlsCredentials(const TlsFiles& files);

}  // namespace logship
