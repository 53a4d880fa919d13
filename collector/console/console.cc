#include "collector/console/console.h"

#include "collector/console/static_assets.h"
#include "collector/delivery/sink_metrics.h"

namespace logship::collector::console {

http::Response StaticResponse(const std::string& path) {
  const StaticAsset* asset = FindStaticAsset(path);
  if (asset == nullptr) return http::Response(404, "text/plain; charset=utf-8", "not found\n");
  http::Response r(200, std::string(asset->content_type), std::string(asset->body));
  r.headers = {{"Content-Security-Policy",
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
               {"X-Content-Type-Options", "nosniff"},
               {"X-Frame-Options", "DENY"},
               {"Referrer-Policy", "no-referrer"},
               {"Cache-Control", "no-cache"}};
  return r;
}

Result<std::unique_ptr<Console>> Console::Create(const ConsoleConfig& config, std::unique_ptr<LogReader> reader,
                                                 const AgentRegistry& agents, metrics::Registry& metrics,
                                                 std::vector<std::string> sink_names, std::function<bool()> healthy,
                                                 std::function<std::string()> health_reason) {
  auto auth = ConsoleAuth::Load(config.token_file);
  if (!auth.ok()) return auth.status();
  ConsoleSources sources;
  sources.agents = &agents;
  sources.healthy = std::move(healthy);
  sources.health_reason = std::move(health_reason);
  // The same series BatchWriter updates (the registry returns the existing ones).
  std::vector<std::pair<std::string, SinkMetrics>> series;
  for (const auto& name : sink_names) series.emplace_back(name, SinkMetrics::For(name, metrics));
  sources.sinks = [series] {
    std::vector<SinkStatus> out;
    for (const auto& [name, m] : series) {
      std::vector<uint64_t> buckets;
      uint64_t count = 0;
      double sum = 0;
      m.lag_seconds->Snapshot(&buckets, &count, &sum);
      out.push_back(SinkStatus{name, m.records->value(), m.errors->value(),
                               count > 0 ? sum / static_cast<double>(count) : 0.0});
    }
    return out;
  };
  return std::make_unique<Console>(std::move(reader), config, std::move(*auth), std::move(sources));
}

void Console::Register(http::HttpServer& server) {
  ConsoleApi* api = api_.get();
  server.HandlePrefix("/api/", [api](const http::Request& r) { return api->Handle(r); });
  server.HandlePrefix("/", [](const http::Request& r) {
    if (r.method != "GET" && r.method != "HEAD") return http::Response(405, "text/plain; charset=utf-8", "method not allowed\n");
    return StaticResponse(r.path);
  });
}

}  // namespace logship::collector::console
