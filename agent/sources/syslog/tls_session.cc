#include "agent/sources/syslog/tls_session.h"

#include <openssl/err.h>

namespace logship::agent::syslog {
namespace {

// OpenSSL's queued errors as one line (and the queue cleared, so they cannot leak into the
// next connection's diagnosis).
std::string OpenSslErrors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown TLS error" : out;
}

}  // namespace

Result<std::unique_ptr<TlsServerContext>> TlsServerContext::Load(const SyslogTlsConfig& config) {
  ERR_clear_error();
  auto c = std::make_unique<TlsServerContext>();
  c->ctx_.reset(SSL_CTX_new(TLS_server_method()));
  SSL_CTX* ctx = c->ctx_.get();
  if (ctx == nullptr) return Status::IoError("cannot create a TLS context: " + OpenSslErrors());
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);  // idle connections hold no record buffers
  SSL_CTX_set_num_tickets(ctx, 0);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  if (SSL_CTX_use_certificate_chain_file(ctx, config.cert_file.c_str()) != 1)
    return Status::IoError("cannot use TLS certificate " + config.cert_file + ": " + OpenSslErrors());
  if (SSL_CTX_use_PrivateKey_file(ctx, config.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    return Status::IoError("cannot use TLS key " + config.key_file + ": " + OpenSslErrors());
  if (SSL_CTX_check_private_key(ctx) != 1)
    return Status::IoError("TLS key " + config.key_file + " does not match " + config.cert_file);
  if (!config.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, config.client_ca_file.c_str(), nullptr) != 1)
      return Status::IoError("cannot use TLS client CA " + config.client_ca_file + ": " + OpenSslErrors());
    // The CA names sent in the CertificateRequest (a hint for clients with several certificates).
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(config.client_ca_file.c_str()); names != nullptr)
      SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return c;
}

TlsSession::TlsSession(const TlsServerContext& context) : ssl_(SSL_new(context.get())) {
  if (!ssl_) return;
  in_ = BIO_new(BIO_s_mem());
  out_ = BIO_new(BIO_s_mem());
  if (in_ == nullptr || out_ == nullptr) {
    BIO_free(in_);
    BIO_free(out_);
    in_ = out_ = nullptr;
    ssl_.reset();
    return;
  }
  // A memory BIO that is empty says "retry", not EOF: reads wait for more ciphertext.
  BIO_set_mem_eof_return(in_, -1);
  SSL_set_bio(ssl_.get(), in_, out_);  // ssl_ owns both now
  SSL_set_accept_state(ssl_.get());
}

void TlsSession::Drain(std::string* to_send) {
  char buf[4096];
  int n = 0;
  while ((n = BIO_read(out_, buf, sizeof buf)) > 0) to_send->append(buf, static_cast<size_t>(n));
}

TlsSession::Outcome TlsSession::Receive(std::string_view ciphertext, PlaintextHandler& handler, std::string* to_send,
                                        std::string* error) {
  if (!ssl_) {
    *error = "cannot create a TLS session (out of memory)";
    return Outcome::kError;
  }
  ERR_clear_error();
  // The memory BIO takes the whole chunk (at most a read buffer's worth, 64 KiB), and the
  // loop below decrypts all of it: nothing stays buffered in OpenSSL between reads.
  if (!ciphertext.empty() && BIO_write(in_, ciphertext.data(), static_cast<int>(ciphertext.size())) <= 0) {
    *error = "cannot buffer TLS input";
    return Outcome::kError;
  }
  for (;;) {
    const int n = SSL_read(ssl_.get(), plain_.data(), static_cast<int>(plain_.size()));
    if (n > 0) {
      handler.OnPlaintext(std::string_view(plain_.data(), static_cast<size_t>(n)));
      continue;
    }
    const int err = SSL_get_error(ssl_.get(), n);
    if (err == SSL_ERROR_ZERO_RETURN) SSL_shutdown(ssl_.get());  // our close_notify in answer to the peer's
    Drain(to_send);
    if (err == SSL_ERROR_WANT_READ) return Outcome::kOk;
    if (err == SSL_ERROR_ZERO_RETURN) return Outcome::kClosed;
    *error = (established() ? "TLS: " : "TLS handshake: ") + OpenSslErrors();
    return Outcome::kError;
  }
}

}  // namespace logship::agent::syslog
