// A small HTTP(S) server for /metrics, /healthz and the collector's web console, on
// libmicrohttpd: an epoll event loop with a small thread pool, so idle or slow clients
// (slowloris) hold no thread. At most kMaxConnections connections, kMaxPerAddress from one
// address, each closed after 10 s without progress; /healthz stays answerable while one
// client holds as many connections as it may.
//
// Threads: handlers run on the pool's threads, several at once, and must be thread-safe;
// they may block briefly (a database query), which takes one of kPoolThreads. A streaming
// body (Response::stream) must not block: it returns kStreamWait when it has nothing yet
// (the connection is parked and asked again about 100 ms later, holding no thread), and 0
// to end, at the latest soon after the `stop` flag it is given becomes true.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/config/config_node.h"
#include "common/metrics/registry.h"
#include "common/status.h"
#include "common/thread/mutex.h"

struct MHD_Daemon;
struct MHD_Connection;

namespace logship::http {

// One request as the handlers see it. Query arguments are URL-decoded and kept in order
// (a key may repeat); header names are lower-cased.
struct Request {
  std::string method;
  std::string path;
  std::vector<std::pair<std::string, std::string>> query;
  std::map<std::string, std::string> headers;

  // The first value of query argument `key`, or "" when absent.
  std::string Arg(const std::string& key) const;
  bool HasArg(const std::string& key) const;
  // Header `name` (lower case), or "".
  std::string Header(const std::string& name) const;
};

// Writes up to `max` bytes of body into `buf`; returns how many, 0 to end the body, or
// kStreamWait when there is nothing yet.
using StreamFn = std::function<size_t(char* buf, size_t max, const std::atomic<bool>& stop)>;
inline constexpr size_t kStreamWait = static_cast<size_t>(-1);

// TLS for the listener: PEM certificate chain and private key (contents, not paths).
struct TlsMaterial {
  std::string cert_pem;
  std::string key_pem;
};

struct Response {
  Response() = default;
  Response(int s, std::string type, std::string text)
      : status(s), content_type(std::move(type)), body(std::move(text)) {}

  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra response headers
  StreamFn stream;  // set: the body is produced by this (and `body` is ignored)
};

using Handler = std::function<Response()>;
using RequestHandler = std::function<Response(const Request&)>;

class HttpServer {
 public:
  HttpServer() = default;
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // GET `path` → handler. Register before Start().
  void Handle(const std::string& path, Handler handler) { handlers_[path] = std::move(handler); }
  // Every request whose path starts with `prefix` (and has no exact handler) → handler,
  // whatever its method; the longest prefix wins. Register before Start().
  void HandlePrefix(const std::string& prefix, RequestHandler handler) { prefixes_[prefix] = std::move(handler); }

  static constexpr unsigned kMaxConnections = 4096;
  static constexpr unsigned kMaxPerAddress = 64;
  static constexpr unsigned kPoolThreads = 8;

  // Listens on "host:port" (IPv4 address or "localhost"; port 0 picks a free one); HTTPS
  // when `tls` is given.
  Status Start(const std::string& listen, const TlsMaterial* tls = nullptr);
  // Tells streaming bodies to end, then closes every connection and waits for them.
  void Stop();
  int port() const { return port_; }

  // Internal (the libmicrohttpd callbacks): dispatches one request; parks a streaming
  // connection that has nothing to send yet.
  Response Dispatch(const Request& request) const;
  void Park(MHD_Connection* connection);
  const std::atomic<bool>& stopping() const { return stopping_; }

 private:
  void ResumeLoop();

  std::map<std::string, Handler> handlers_;
  std::map<std::string, RequestHandler> prefixes_;
  MHD_Daemon* daemon_ = nullptr;  // owned; MHD_stop_daemon in Stop()
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  Mutex park_mu_;
  CondVar park_cv_;
  std::vector<std::pair<std::chrono::steady_clock::time_point, MHD_Connection*>> parked_ GUARDED_BY(park_mu_);
  bool resumer_stop_ GUARDED_BY(park_mu_) = false;
  std::thread resumer_;
};

// GET /metrics renders `registry` in the Prometheus text format. `registry` must outlive
// the server.
void ServeMetrics(HttpServer& server, const metrics::Registry& registry);

// Starts `server` as the `http:` section says (HTTPS with its certificate and key files).
Status StartFromConfig(HttpServer& server, const HttpConfig& config);
// The same unless listen is "" (off), logged as `component`: "metrics on https://…/metrics",
// or the error and "(metrics unavailable; <meanwhile>)". The process goes on either way.
void StartAndLog(HttpServer& server, const HttpConfig& config, std::string_view component,
                 std::string_view meanwhile);

}  // namespace logship::http
