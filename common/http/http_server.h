// A small HTTP server for /metrics, /healthz and the collector's web console, on
// libmicrohttpd with one thread per connection (at most 64 connections).
//
// Threads: handlers run on the connection's thread, several at once, and must be
// thread-safe. A streaming body (Response::stream) is produced on its connection's thread
// and may block briefly (about a second) between chunks; it must return 0 soon after the
// `stop` flag it is given becomes true, because Stop() waits for every connection.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/metrics/registry.h"
#include "common/status.h"

struct MHD_Daemon;

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

// Writes up to `max` bytes of body into `buf`; returns how many, or 0 to end the body.
using StreamFn = std::function<size_t(char* buf, size_t max, const std::atomic<bool>& stop)>;

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

  // Listens on "host:port" (IPv4 address or "localhost"; port 0 picks a free one).
  Status Start(const std::string& listen);
  // Tells streaming bodies to end, then closes every connection and waits for them.
  void Stop();
  int port() const { return port_; }

  // Internal: dispatches one request (called by the libmicrohttpd callback).
  Response Dispatch(const Request& request) const;

 private:
  std::map<std::string, Handler> handlers_;
  std::map<std::string, RequestHandler> prefixes_;
  MHD_Daemon* daemon_ = nullptr;  // owned; MHD_stop_daemon in Stop()
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::pair<const HttpServer*, const std::atomic<bool>*> context_{this, &stopping_};  // for the callbacks
};

// GET /metrics renders `registry` in the Prometheus text format. `registry` must outlive
// the server.
void ServeMetrics(HttpServer& server, const metrics::Registry& registry);

}  // namespace logship::http
