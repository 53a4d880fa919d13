// The Elasticsearch/OpenSearch sink plugin (`sinks.elasticsearch`).
#include "collector/sinks/elasticsearch/elasticsearch_config.h"
#include "collector/sinks/elasticsearch/elasticsearch_sink.h"
#include "collector/sinks/elasticsearch/es_http.h"
#include "collector/sinks/sink_plugin.h"

namespace logship::collector::plugins {
namespace {

std::unique_ptr<SinkConfig> Parse(ConfigMap& m) {
  return std::make_unique<elasticsearch::ElasticsearchConfig>(elasticsearch::ParseElasticsearchConfig(m));
}

Result<std::unique_ptr<Sink>> Create(const SinkConfig& config, const SinkContext& context) {
  const auto& es = static_cast<const elasticsearch::ElasticsearchConfig&>(config);
  auto http = elasticsearch::EsHttpClient::Create(es);
  if (!http.ok()) return http.status();
  return std::unique_ptr<Sink>(std::make_unique<elasticsearch::ElasticsearchSink>(es, std::move(*http), context));
}

}  // namespace

const SinkPlugin& sink_elasticsearch() {
  // Item-level 429s are common under load; trying again here spares the agent a window re-send.
  static const SinkPlugin kPlugin{
      .type = "elasticsearch", .parse = &Parse, .create = &Create, .default_retry_budget = std::chrono::seconds(30)};
  return kPlugin;
}

}  // namespace logship::collector::plugins
