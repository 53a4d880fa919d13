// Server-side TLS for syslog over TCP (RFC 5425), on OpenSSL memory BIOs: the libuv loop
// owns the socket, OpenSSL only transforms bytes. Ciphertext read from the socket goes in;
// plaintext comes out to a callback, and whatever OpenSSL wants sent (handshake, alerts)
// is handed back for the connection to write. No thread, no blocking call.
//
// TLS 1.2 or later; no renegotiation, no session tickets (nothing for a client that only
// writes to read back). With client_ca_file, a client certificate signed by it is required.
//
// Thread-compatible: a context is shared by a listener's sessions on the loop thread.
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <memory>
#include <string>
#include <string_view>

#include "agent/sources/syslog/syslog_config.h"
#include "common/status.h"

namespace logship::agent::syslog {

class TlsServerContext {
 public:
  // Reads the PEM files. IoError naming the file and OpenSSL's reason when one is unusable.
  static Result<std::unique_ptr<TlsServerContext>> Load(const SyslogTlsConfig& config);
  SSL_CTX* get() const { return ctx_.get(); }
  TlsServerContext() = default;  // use Load()

 private:
  struct Free { void operator()(SSL_CTX* c) const { SSL_CTX_free(c); } };
  std::unique_ptr<SSL_CTX, Free> ctx_;
};

class PlaintextHandler {
 public:
  virtual ~PlaintextHandler() = default;
  virtual void OnPlaintext(std::string_view bytes) = 0;
};

class TlsSession {
 public:
  // REQUIRES: `context` outlives the session.
  explicit TlsSession(const TlsServerContext& context);

  enum class Outcome { kOk, kClosed, kError };
  // Ciphertext from the peer: plaintext is handed to `handler` as it is decrypted (all of
  // what `ciphertext` completes, before returning), and bytes to send back are appended to
  // *to_send. kClosed: the peer sent close_notify (ours, in answer, is in *to_send); kError:
  // *error says why (the connection
  // must be closed; *to_send may hold an alert worth sending first).
  Outcome Receive(std::string_view ciphertext, PlaintextHandler& handler, std::string* to_send, std::string* error);

  bool established() const { return ssl_ && SSL_is_init_finished(ssl_.get()); }

 private:
  void Drain(std::string* to_send);

  struct Free { void operator()(SSL* s) const { SSL_free(s); } };
  std::unique_ptr<SSL, Free> ssl_;
  BIO* in_ = nullptr;   // network → OpenSSL; owned by ssl_
  BIO* out_ = nullptr;  // OpenSSL → network; owned by ssl_
  std::array<char, 16384> plain_{};  // one TLS record's worth
};

}  // namespace logship::agent::syslog
