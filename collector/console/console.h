// The web console: the page at / (static_assets.h) and the JSON API at /api/v1/
// (console_api.h) on the collector's HTTP server, reading PostgreSQL through its own
// ReadPool (read_dsn when set, else dsn).
//
// Lifetime: the Console must outlive the HttpServer's Stop() (live tails run on its
// threads until then); `agents`, `metrics` and `healthy` must outlive the Console.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "collector/collector_config.h"
#include "collector/console/agent_registry.h"
#include "collector/console/console_api.h"
#include "collector/console/read_pool.h"
#include "common/http/http_server.h"
#include "common/metrics/registry.h"

namespace logship::collector::console {

class Console {
 public:
  // Reads the token file; errors name the problem (the collector then runs without console).
  static Result<std::unique_ptr<Console>> Create(const ConsoleConfig& config, const PostgresConfig& postgres,
                                                const AgentRegistry& agents, metrics::Registry& metrics,
                                                std::vector<std::string> sink_names, std::function<bool()> healthy,
                                                std::function<std::string()> health_reason);

  // GET / and the page's files, and /api/v1/*. Register before server.Start().
  void Register(http::HttpServer& server);

 private:
  Console() = default;
  std::unique_ptr<ReadPool> pool_;
  std::unique_ptr<ConsoleApi> api_;
};

// The page's response headers: a strict Content-Security-Policy (only this origin's
// script and style, no inline script), no framing, no sniffing.
http::Response StaticResponse(const std::string& path);

}  // namespace logship::collector::console
