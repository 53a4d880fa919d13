// TlsSession against a real OpenSSL client, both on memory BIOs (no socket needed).
#include "agent/sources/syslog/tls_session.h"

#include <doctest/doctest.h>
#include <memory>
#include <string>

#include "tests/unit/agent/sources/syslog/test_certificate.h"
#include "tests/unit/testing/temp_dir.h"

namespace logship::agent::syslog {
namespace {

using logship::testing::TempDir;

class Collect final : public PlaintextHandler {
 public:
  void OnPlaintext(std::string_view b) override { text.append(b); }
  std::string text;
};

// An OpenSSL client whose network is two strings.
class Client {
 public:
  Client() : ctx_(SSL_CTX_new(TLS_client_method()), &SSL_CTX_free), ssl_(nullptr, &SSL_free) {
    SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_NONE, nullptr);
    ssl_.reset(SSL_new(ctx_.get()));
    in_ = BIO_new(BIO_s_mem());
    out_ = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(in_, -1);
    SSL_set_bio(ssl_.get(), in_, out_);
    SSL_set_connect_state(ssl_.get());
  }
  std::string Outgoing() {
    std::string out;
    char buf[4096];
    int n = 0;
    while ((n = BIO_read(out_, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    return out;
  }
  void Incoming(const std::string& bytes) {
    if (!bytes.empty()) BIO_write(in_, bytes.data(), static_cast<int>(bytes.size()));
  }
  SSL* ssl() { return ssl_.get(); }

 private:
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx_;
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl_;
  BIO* in_ = nullptr;
  BIO* out_ = nullptr;
};

// Runs the handshake between them; the server's outcome of its last Receive.
TlsSession::Outcome Handshake(Client& client, TlsSession& server, Collect& plain, std::string* error) {
  TlsSession::Outcome outcome = TlsSession::Outcome::kOk;
  for (int round = 0; round < 10 && !SSL_is_init_finished(client.ssl()); ++round) {
    SSL_do_handshake(client.ssl());
    std::string back;
    outcome = server.Receive(client.Outgoing(), plain, &back, error);
    client.Incoming(back);
    if (outcome != TlsSession::Outcome::kOk) break;
  }
  return outcome;
}

TEST_CASE("tls session: handshake, records across several reads, close_notify") {
  TempDir dir;
  auto context = TlsServerContext::Load(testing::MakeCertificate(dir));
  REQUIRE(context.ok());
  TlsSession server(**context);
  Client client;
  Collect plain;
  std::string error;
  REQUIRE(Handshake(client, server, plain, &error) == TlsSession::Outcome::kOk);
  REQUIRE(SSL_is_init_finished(client.ssl()));
  CHECK(server.established());
  const std::string message = "<13>1 - h app - - - over TLS\n" + std::string(40000, 'x') + "\n";
  REQUIRE(SSL_write(client.ssl(), message.data(), static_cast<int>(message.size())) == static_cast<int>(message.size()));
  const std::string wire = client.Outgoing();
  std::string back;
  // The ciphertext arrives in uneven pieces; the plaintext comes out whole and in order.
  for (size_t off = 0; off < wire.size(); off += 777) {
    REQUIRE(server.Receive(std::string_view(wire).substr(off, 777), plain, &back, &error) == TlsSession::Outcome::kOk);
  }
  CHECK(plain.text == message);
  SSL_shutdown(client.ssl());
  back.clear();
  CHECK(server.Receive(client.Outgoing(), plain, &back, &error) == TlsSession::Outcome::kClosed);
  client.Incoming(back);
  CHECK(SSL_shutdown(client.ssl()) == 1);  // the server answered with its close_notify
}

TEST_CASE("tls session: plain text or a client without the required certificate is an error") {
  TempDir dir;
  SyslogTlsConfig config = testing::MakeCertificate(dir);
  auto context = TlsServerContext::Load(config);
  REQUIRE(context.ok());
  TlsSession server(**context);
  Collect plain;
  std::string back, error;
  CHECK(server.Receive("<13>1 - h app - - - not TLS at all\n", plain, &back, &error) == TlsSession::Outcome::kError);
  CHECK(error.find("TLS handshake") == 0);
  CHECK(plain.text.empty());

  config.client_ca_file = config.cert_file;  // mTLS: clients need a certificate signed by it
  auto mtls = TlsServerContext::Load(config);
  REQUIRE(mtls.ok());
  TlsSession strict(**mtls);
  Client anonymous;
  error.clear();
  CHECK(Handshake(anonymous, strict, plain, &error) == TlsSession::Outcome::kError);
  CHECK_FALSE(error.empty());
}

TEST_CASE("tls session: unusable certificate files are reported with their names") {
  TempDir dir;
  SyslogTlsConfig config = testing::MakeCertificate(dir);
  config.key_file = dir.File("missing.pem");
  auto bad = TlsServerContext::Load(config);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("missing.pem") != std::string::npos);
}

}  // namespace
}  // namespace logship::agent::syslog
