#include "common/grpc_tls.h"

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include "common/file_util.h"

namespace logship {
namespace {

// The file's text into *out; an empty path leaves *out empty.
Status ReadPem(const std::string& what, const char* key, const std::string& path, std::string* out) {
  if (path.empty()) return Status::Ok();
  auto text = ReadWholeFile(path);
  if (!text.ok()) return Status::IoError(what + "." + key + ": " + text.status().message());
  *out = std::move(*text);
  return Status::Ok();
}

}  // namespace

Result<std::shared_ptr<grpc::ChannelCredentials>> ClientTlsCredentials(const TlsFiles& f) {
  grpc::SslCredentialsOptions opts;
  for (Status s : {ReadPem(f.what, "ca_file", f.ca_file, &opts.pem_root_certs),
                   ReadPem(f.what, "cert_file", f.cert_file, &opts.pem_cert_chain),
                   ReadPem(f.what, "key_file", f.key_file, &opts.pem_private_key)})
    if (!s.ok()) return s;
  return grpc::SslCredentials(opts);
}

Result<std::shared_ptr<grpc::ServerCredentials>> ServerTlsCredentials(const TlsFiles& f) {
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  std::string ca;
  for (Status s : {ReadPem(f.what, "cert_file", f.cert_file, &pair.cert_chain),
                   ReadPem(f.what, "key_file", f.key_file, &pair.private_key),
                   ReadPem(f.what, "client_ca_file", f.ca_file, &ca)})
    if (!s.ok()) return s;
  grpc::SslServerCredentialsOptions opts(ca.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                                    : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  opts.pem_root_certs = ca;
  opts.pem_key_cert_pairs.push_back(pair);
  return grpc::SslServerCredentials(opts);
}

}  // namespace logship
