// The web console: the page at / (static_assets.h) and the JSON API at /api/v1/
// (console_api.h) on the collector's HTTP server, reading records through a LogReader (a
// sink's: the PostgreSQL sink's reads on its own small pool of read-only connections).
//
// Lifetime: the Console must outlive the HttpServer's Stop() (live tails run on its
// threads until then); `agents`, `metrics` and `healthy` must outlive the Console.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "collector/console/console_api.h"
#include "collector/console/console_config.h"
#include "collector/model/log_reader.h"
#include "collector/server/agent_registry.h"
#include "common/http/http_server.h"
#include "common/metrics/registry.h"

namespace logship::collector::console {

class Console {
 public:
  // Reads the token file; errors name the problem (the collector then runs without console).
  static Result<std::unique_ptr<Console>> Create(const ConsoleConfig& config, std::unique_ptr<LogReader> reader,
                                                const AgentRegistry& agents, metrics::Registry& metrics,
                                                std::vector<std::string> sink_names, std::function<bool()> healthy,
                                                std::function<std::string()> health_reason);
  Console(std::unique_ptr<LogReader> reader, const ConsoleConfig& config, ConsoleAuth auth, ConsoleSources sources)
      : reader_(std::move(reader)),
        api_(std::make_unique<ConsoleApi>(config, std::move(auth), *reader_, std::move(sources))) {}

  // GET / and the page's files, and /api/v1/*. Register before server.Start().
  void Register(http::HttpServer& server);

 private:
  std::unique_ptr<LogReader> reader_;
  std::unique_ptr<ConsoleApi> api_;
};

// The page's response headers: a strict Content-Security-Policy (only this origin's
// script and style, no inline script), no framing, no sniffing.
http::Response StaticResponse(const std::string& path);

}  // namespace logship::collector::console
