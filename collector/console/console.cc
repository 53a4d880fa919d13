#include "collector/console/console.h"

#include "collector/console/static_assets.h"

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

Result<std::unique_ptr<Console>> Console::Create(const ConsoleConfig& config, const PostgresConfig& postgres,
                                                 const AgentRegistry& agents, metrics::Registry& metrics,
                                                 std::vector<std::string> sink_names, std::function<bool()> healthy,
                                                 std::function<std::string()> health_reason) {
  auto auth = ConsoleAuth::Load(config.token_file);
  if (!auth.ok()) return auth.status();
  std::unique_ptr<Console> c(new Console());
  const std::string& dsn = postgres.read_dsn.empty() ? postgres.dsn : postgres.read_dsn;
  c->pool_ = std::make_unique<ReadPool>(dsn, config.connections, config.statement_timeout);
  ConsoleSources sources;
  sources.agents = &agents;
  sources.healthy = std::move(healthy);
  sources.health_reason = std::move(health_reason);
  // The same series BatchWriter updates (GetCounter returns the existing one).
  struct SinkSeries {
    std::string name;
    metrics::Counter* records;
    metrics::Counter* errors;
    metrics::Histogram* lag;
  };
  std::vector<SinkSeries> series;
  for (const auto& name : sink_names) {
    const metrics::Labels l = {{"sink", name}};
    series.push_back(SinkSeries{
        name, &metrics.GetCounter("logship_collector_sink_records_total", "Records a sink committed.", l),
        &metrics.GetCounter("logship_collector_sink_errors_total", "Failed batch writes, by sink.", l),
        &metrics.GetHistogram("logship_collector_end_to_end_lag_seconds",
                              "From the agent reading a record to the sink committing it.", metrics::LatencyBuckets(),
                              l)});
  }
  sources.sinks = [series] {
    std::vector<SinkStatus> out;
    for (const auto& s : series) {
      std::vector<uint64_t> buckets;
      uint64_t count = 0;
      double sum = 0;
      s.lag->Snapshot(&buckets, &count, &sum);
      out.push_back(SinkStatus{s.name, s.records->value(), s.errors->value(),
                               count > 0 ? sum / static_cast<double>(count) : 0.0});
    }
    return out;
  };
  c->api_ = std::make_unique<ConsoleApi>(config, postgres.table, std::move(*auth), *c->pool_, std::move(sources));
  return c;
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
