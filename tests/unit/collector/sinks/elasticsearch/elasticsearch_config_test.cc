#include "collector/sinks/elasticsearch/elasticsearch_config.h"

#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include "collector/collector_config.h"
#include "collector/sinks/elasticsearch/gzip.h"
#include "collector/sinks/elasticsearch/index_template.h"
#include "common/config/config_node.h"

namespace logship::collector::elasticsearch {
namespace {

struct Parsed {
  CollectorConfig config;
  const ElasticsearchConfig* elasticsearch = nullptr;  // in config.sinks (heap: survives moves)
};

Parsed Parse(const std::string& es, const std::string& more = "") {
  Parsed p{ParseCollectorConfig("sinks:\n" + more + "  elasticsearch:\n" + es, "c.yaml")};
  p.elasticsearch = p.config.SinkOf<ElasticsearchConfig>("elasticsearch");
  return p;
}

std::string ErrorOf(const std::string& es, const std::string& more = "") {
  try {
    Parse(es, more);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST_CASE("a minimal elasticsearch sink needs urls; its dead letters go under data_dir by default") {
  const auto c = Parse("    urls: [\"http://es:9200/\"]\n    dead_letter_dir: /var/lib/logship/dead\n");
  REQUIRE(c.elasticsearch);
  CHECK(c.elasticsearch->urls == std::vector<std::string>{"http://es:9200"});
  CHECK(c.elasticsearch->index == "logs-logship-%Y.%m.%d");
  CHECK(c.elasticsearch->dead_letter_dir == "/var/lib/logship/dead");
  CHECK(c.elasticsearch->delivery.required);
  CHECK(c.elasticsearch->template_priority == 200);
  // A data stream's template must not tie with the dated pattern's (engines refuse a tie).
  CHECK(Parse("    urls: [\"http://es:9200\"]\n    data_stream: logs-logship-app\n").elasticsearch->template_priority == 210);
  CHECK(Parse("    urls: [\"http://es:9200\"]\n    template_priority: 300\n").elasticsearch->template_priority == 300);
  // Unset: the sink keeps them in <data_dir>/dead-letter (SinkContext), unless a sink keeps them.
  CHECK(Parse("    urls: [\"http://es:9200\"]\n").elasticsearch->dead_letter_dir.empty());
  CHECK(ErrorOf("    urls: [\"http://es:9200\"]\n", "  postgres: {dsn: \"dbname=logs\"}\n").empty());
}

TEST_CASE("bad elasticsearch settings are refused with the key and the fix") {
  const std::string ok = "    dead_letter_dir: /d\n";
  CHECK(ErrorOf("    urls: [\"es:9200\"]\n" + ok).find("not an http:// or https:// URL") != std::string::npos);
  CHECK(ErrorOf("    urls: []\n" + ok).find("at least one URL") != std::string::npos);
  CHECK(ErrorOf("    urls: [\"http://e\"]\n    index: Logs-%Y\n" + ok).find("not a valid index name") !=
        std::string::npos);
  CHECK(ErrorOf("    urls: [\"http://e\"]\n    index: logs-%Q\n" + ok).find("unsupported field %Q") != std::string::npos);
  CHECK(ErrorOf("    urls: [\"http://e\"]\n    index: a\n    data_stream: b\n" + ok).find("not both") !=
        std::string::npos);
  CHECK(ErrorOf("    urls: [\"http://e\"]\n    username: u\n" + ok).find("needs password_file") != std::string::npos);
  CHECK(ErrorOf("    urls: [\"http://e\"]\n    api_key_file: /k\n    username: u\n    password_file: /p\n" + ok)
            .find("not both") != std::string::npos);
  CHECK(ErrorOf("    urls: [\"http://e\"]\n    bulk_max_bytes: 1KiB\n" + ok).find("bulk_max_bytes") != std::string::npos);
  CHECK(ErrorOf("    urls: [\"http://e\"]\n    bulk_max_byte: 1MiB\n" + ok).find("did you mean") != std::string::npos);
  // No credentials in URLs (they would be logged); an index needs a fixed prefix for its template.
  CHECK(ErrorOf("    urls: [\"http://u:p@e:9200\"]\n" + ok).find("credentials in a URL") != std::string::npos);
  CHECK(ErrorOf("    urls: [\"http://e:9200/a@b\"]\n" + ok).empty());
  CHECK(ErrorOf("    urls: [\"http://e\"]\n    index: \"%Y.%m.%d-logs\"\n" + ok).find("fixed name") !=
        std::string::npos);
}

TEST_CASE("at least one sink must be required") {
  CHECK(ErrorOf("    urls: [\"http://e\"]\n    required: false\n", "  postgres: {dsn: \"x\", required: false}\n")
            .find("at least one sink must be required") != std::string::npos);
  const auto c = Parse("    urls: [\"http://e\"]\n    required: false\n    queue_max_bytes: 8MiB\n",
                       "  postgres: {dsn: \"x\"}\n");
  CHECK_FALSE(c.elasticsearch->delivery.required);
  CHECK(c.elasticsearch->delivery.queue_max_bytes == 8ull << 20);
}

TEST_CASE("the template's index pattern covers every dated index") {
  ElasticsearchConfig c;
  CHECK(IndexPattern(c) == "logs-logship-*");
  c.index = "app-%Y-%m";
  CHECK(IndexPattern(c) == "app-*");
  c.data_stream = "logs-app-default";
  CHECK(IndexPattern(c) == "logs-app-default");
}

TEST_CASE("template and policy: ECS mappings, priority above the built-in logs template, retention") {
  ElasticsearchConfig c;
  c.retention_days = 14;
  const EngineInfo es8{EngineInfo::Kind::kElasticsearch, "8.19.21", 8, 19};
  rapidjson::Document t;
  t.Parse(IndexTemplateJson(c, es8, true).c_str());
  REQUIRE_FALSE(t.HasParseError());
  CHECK(t["priority"].GetInt() > 100);
  CHECK_FALSE(t.HasMember("data_stream"));
  CHECK(std::string(t["template"]["settings"]["index.lifecycle.name"].GetString()) == "logship");
  const auto& props = t["template"]["mappings"]["properties"];
  CHECK(std::string(props["@timestamp"]["type"].GetString()) == "date_nanos");
  CHECK(std::string(props["log"]["properties"]["level"]["type"].GetString()) == "keyword");
  CHECK(std::string(props["host"]["properties"]["name"]["type"].GetString()) == "keyword");
  CHECK(std::string(props["labels"]["type"].GetString()) == "flattened");
  rapidjson::Document p;
  p.Parse(LifecyclePolicyJson(c, es8).c_str());
  REQUIRE_FALSE(p.HasParseError());
  CHECK(std::string(p["policy"]["phases"]["delete"]["min_age"].GetString()) == "14d");
  CHECK_FALSE(p["policy"]["phases"]["hot"]["actions"].HasMember("rollover"));  // dated indices do not roll over
  c.data_stream = "logs-x-default";
  c.retention_days = 0;
  c.template_priority = 210;
  t.Parse(IndexTemplateJson(c, es8, true).c_str());
  CHECK(t.HasMember("data_stream"));
  CHECK(t["priority"].GetInt() == 210);
  p.Parse(LifecyclePolicyJson(c, es8).c_str());
  CHECK(p["policy"]["phases"]["hot"]["actions"].HasMember("rollover"));
  CHECK_FALSE(p["policy"]["phases"].HasMember("delete"));
  // Without ILM on the cluster, the template must not name a policy (the setting is refused).
  t.Parse(IndexTemplateJson(c, es8, false).c_str());
  CHECK_FALSE(t["template"].HasMember("settings"));
}

TEST_CASE("OpenSearch: flat_object labels, no ILM setting, an ISM policy attached by pattern") {
  ElasticsearchConfig c;
  c.retention_days = 7;
  const EngineInfo os{EngineInfo::Kind::kOpenSearch, "2.19.6", 2, 19};
  CHECK(os.LifecyclePolicyPath("logship") == "/_plugins/_ism/policies/logship");
  rapidjson::Document t;
  t.Parse(IndexTemplateJson(c, os, false).c_str());
  REQUIRE_FALSE(t.HasParseError());
  CHECK_FALSE(t["template"].HasMember("settings"));
  const auto& props = t["template"]["mappings"]["properties"];
  CHECK(std::string(props["labels"]["type"].GetString()) == "flat_object");
  CHECK(std::string(props["@timestamp"]["type"].GetString()) == "date_nanos");
  rapidjson::Document p;
  p.Parse(LifecyclePolicyJson(c, os).c_str());
  REQUIRE_FALSE(p.HasParseError());
  const auto& policy = p["policy"];
  CHECK(std::string(policy["default_state"].GetString()) == "hot");
  CHECK(std::string(policy["ism_template"][0]["index_patterns"][0].GetString()) == "logs-logship-*");
  const auto& hot = policy["states"][0];
  CHECK(hot["actions"].Size() == 0);  // dated indices do not roll over
  CHECK(std::string(hot["transitions"][0]["conditions"]["min_index_age"].GetString()) == "7d");
  CHECK(std::string(policy["states"][1]["name"].GetString()) == "delete");
  c.data_stream = "logs-x-default";
  c.retention_days = 0;
  p.Parse(LifecyclePolicyJson(c, os).c_str());
  CHECK(p["policy"]["states"].Size() == 1);
  CHECK(p["policy"]["states"][0]["actions"][0].HasMember("rollover"));
  CHECK(p["policy"]["states"][0]["transitions"].Size() == 0);
  // Older engines: plain object labels, date where date_nanos does not exist.
  CHECK(EngineInfo{EngineInfo::Kind::kOpenSearch, "2.5.0", 2, 5}.LabelsType() == "object");
  CHECK(EngineInfo{EngineInfo::Kind::kElasticsearch, "6.8.0", 6, 8}.NanosDateType() == "date");
  CHECK(EngineInfo{}.LabelsType() == "flattened");  // unknown: the newest behaviour
}

TEST_CASE("gzip round trip, and a bomb is stopped at the limit") {
  const std::string text(1 << 20, 'a');
  auto z = GzipCompress(text, 1);
  REQUIRE(z.ok());
  CHECK(z->size() < text.size() / 100);
  CHECK(static_cast<unsigned char>((*z)[0]) == 0x1f);  // gzip magic
  auto back = GzipDecompress(*z, 2 << 20);
  REQUIRE(back.ok());
  CHECK(*back == text);
  CHECK_FALSE(GzipDecompress(*z, 1000).ok());
  CHECK_FALSE(GzipDecompress(z->substr(0, z->size() / 2), 2 << 20).ok());
}

}  // namespace
}  // namespace logship::collector::elasticsearch
