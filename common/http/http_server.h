// A small HTTP server for /metrics and /healthz, on libmicrohttpd (its own polling
// thread). Handlers run on that thread and must be thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/metrics/registry.h"
#include "common/status.h"

struct MHD_Daemon;

namespace logship::http {

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using Handler = std::function<Response()>;

class HttpServer {
 public:
  HttpServer() = default;
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // GET `path` → handler. Register before Start().
  void Handle(const std::string& path, Handler handler) { handlers_[path] = std::move(handler); }

  // Listens on "host:port" (IPv4 address or "localhost"; port 0 picks a free one).
  Status Start(const std::string& listen);
  void Stop();
  int port() const { return port_; }

  // Internal: dispatches one request (called by the libmicrohttpd callback).
  Response Dispatch(const std::string& method, const std::string& url) const;

 private:
  std::map<std::string, Handler> handlers_;
  MHD_Daemon* daemon_ = nullptr;  // owned; MHD_stop_daemon in Stop()
  int port_ = 0;
};

// GET /metrics renders `registry` in the Prometheus text format. `registry` must outlive
// the server.
void ServeMetrics(HttpServer& server, const metrics::Registry& registry);

}  // namespace logship::http
