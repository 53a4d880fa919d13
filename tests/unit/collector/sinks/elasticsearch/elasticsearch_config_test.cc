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
  rapidjson::Document t;
  t.Parse(IndexTemplateJson(c).c_str());
  REQUIRE_FALSE(t.HasParseError());
  CHECK(t["priority"].GetInt() > 100);
  CHECK_FALSE(t.HasMember("data_stream"));
  const auto& props = t["template"]["mappings"]["properties"];
  CHECK(std::string(props["@timestamp"]["type"].GetString()) == "date_nanos");
  CHECK(std::string(props["log"]["properties"]["level"]["type"].GetString()) == "keyword");
  CHECK(std::string(props["host"]["properties"]["name"]["type"].GetString()) == "keyword");
  CHECK(std::string(props["labels"]["type"].GetString()) == "flattened");
  rapidjson::Document p;
  p.Parse(LifecyclePolicyJson(c).c_str());
  REQUIRE_FALSE(p.HasParseError());
  CHECK(std::string(p["policy"]["phases"]["delete"]["min_age"].GetString()) == "14d");
  CHECK_FALSE(p["policy"]["phases"]["hot"]["actions"].HasMember("rollover"));  // dated indices do not roll over
  c.data_stream = "logs-x-default";
  c.retention_days = 0;
  t.Parse(IndexTemplateJson(c).c_str());
  CHECK(t.HasMember("data_stream"));
  p.Parse(LifecyclePolicyJson(c).c_str());
  CHECK(p["policy"]["phases"]["hot"]["actions"].HasMember("rollover"));
  CHECK_FALSE(p["policy"]["phases"].HasMember("delete"));
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
