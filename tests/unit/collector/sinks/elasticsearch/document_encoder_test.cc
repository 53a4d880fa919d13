#include "collector/sinks/elasticsearch/document_encoder.h"

#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include "common/record_id.h"

namespace logship::collector::elasticsearch {
namespace {

constexpr uint64_t kObserved = 1700000000123456789ULL;  // 2023-11-14T22:13:20.123456789Z

DecodedBatch MakeBatch(const std::string& source = "/var/log/app.log") {
  DecodedBatch b;
  b.agent_id = "web-01";
  b.batch->set_agent_id("web-01");
  b.batch->set_host("host-1");
  auto* src = b.batch->add_sources();
  src->set_name(source);
  auto* kv = src->add_attributes();
  kv->set_key("service");
  kv->set_value("app");
  return b;
}

logship::v1::LogRecord* AddRecord(DecodedBatch& b, std::string body, uint64_t offset = 0) {
  auto* r = b.batch->add_records();
  r->set_id(std::string(FileRecordId("web-01", FilePosition{1, 2, 3, offset}).AsBytes()));
  r->set_body(std::move(body));
  r->set_observed_time_unix_nano(kObserved);
  return r;
}

// Parses the two NDJSON lines of an item.
std::pair<rapidjson::Document, rapidjson::Document> Lines(const BulkItem& item) {
  REQUIRE(item.lines.back() == '\n');
  const size_t nl = item.lines.find('\n');
  REQUIRE(nl + 1 < item.lines.size());
  REQUIRE(item.lines.find('\n', nl + 1) == item.lines.size() - 1);  // exactly two lines
  rapidjson::Document action, doc;
  action.Parse(item.lines.substr(0, nl).c_str());
  doc.Parse(item.lines.substr(nl + 1, item.lines.size() - nl - 2).c_str());
  REQUIRE_FALSE(action.HasParseError());
  REQUIRE_FALSE(doc.HasParseError());
  return {std::move(action), std::move(doc)};
}

TEST_CASE("a record becomes a create action with _id = the record id and an ECS document") {
  DecodedBatch b = MakeBatch();
  auto* r = AddRecord(b, "hello");
  r->set_severity(17);
  auto* kv = r->add_attributes();
  kv->set_key("trace_id");
  kv->set_value("abc123");
  kv = r->add_attributes();
  kv->set_key("correlation_id");
  kv->set_value("order-7");
  const auto items = EncodeBulkItems(b, ElasticsearchConfig{});
  REQUIRE(items.size() == 1);
  auto [action, doc] = Lines(items[0]);
  CHECK(std::string(action["create"]["_index"].GetString()) == "logs-logship-2023.11.14");
  CHECK(std::string(action["create"]["_id"].GetString()) == items[0].id);
  RecordId id;
  REQUIRE(RecordId::FromBytes(r->id(), &id));
  CHECK(items[0].id == id.ToUuid());
  CHECK(std::string(doc["@timestamp"].GetString()) == "2023-11-14T22:13:20.123456789Z");
  CHECK(std::string(doc["event"]["created"].GetString()) == "2023-11-14T22:13:20.123456789Z");
  CHECK(doc["event"]["severity"].GetInt() == 17);
  CHECK(std::string(doc["message"].GetString()) == "hello");
  CHECK(std::string(doc["log"]["level"].GetString()) == "error");
  CHECK(std::string(doc["log"]["file"]["path"].GetString()) == "/var/log/app.log");
  CHECK(std::string(doc["host"]["name"].GetString()) == "host-1");
  CHECK(std::string(doc["agent"]["id"].GetString()) == "web-01");
  CHECK(std::string(doc["service"]["name"].GetString()) == "app");
  CHECK(std::string(doc["trace"]["id"].GetString()) == "abc123");
  CHECK(std::string(doc["transaction"]["id"].GetString()) == "order-7");
  CHECK(std::string(doc["ecs"]["version"].GetString()) == kEcsVersion);
  CHECK(std::string(doc["labels"]["service"].GetString()) == "app");
  CHECK(std::string(doc["labels"]["trace_id"].GetString()) == "abc123");
}

TEST_CASE("event time wins over observed time, and picks the day of the index") {
  DecodedBatch b = MakeBatch();
  AddRecord(b, "old")->set_time_unix_nano(86400ULL * 1000000000ULL);  // 1970-01-02
  const auto items = EncodeBulkItems(b, ElasticsearchConfig{});
  auto [action, doc] = Lines(items[0]);
  CHECK(std::string(action["create"]["_index"].GetString()) == "logs-logship-1970.01.02");
  CHECK(std::string(doc["@timestamp"].GetString()) == "1970-01-02T00:00:00.000000000Z");
}

TEST_CASE("a data stream is the target of every record, whatever its time") {
  ElasticsearchConfig c;
  c.data_stream = "logs-app-default";
  DecodedBatch b = MakeBatch();
  AddRecord(b, "a")->set_time_unix_nano(1);
  AddRecord(b, "b", 10);
  for (const auto& item : EncodeBulkItems(b, c))
    CHECK(std::string(Lines(item).first["create"]["_index"].GetString()) == "logs-app-default");
}

TEST_CASE("invalid UTF-8 and NUL are escaped and flagged; a split line is flagged") {
  DecodedBatch b = MakeBatch("nginx.service");
  auto* r = AddRecord(b, std::string("bad \xff\xfe and \0 nul", 16));
  r->set_flags(logship::v1::LogRecord::FLAG_PARTIAL);
  const auto items = EncodeBulkItems(b, ElasticsearchConfig{});
  auto [action, doc] = Lines(items[0]);
  CHECK(std::string(doc["message"].GetString()) == "bad \\xff\\xfe and \\x00 nul");
  CHECK(std::string(doc["labels"]["logship.escaped"].GetString()) == "true");
  CHECK(std::string(doc["labels"]["logship.partial"].GetString()) == "true");
  CHECK_FALSE(doc["log"].HasMember("file"));  // not a path: a journal unit
  CHECK(std::string(doc["log"]["logger"].GetString()) == "nginx.service");
}

TEST_CASE("a record attribute replaces a source attribute of the same key: no repeated JSON keys") {
  DecodedBatch b = MakeBatch();
  auto* r = AddRecord(b, "x");
  for (const char* v : {"first", "second"}) {
    auto* kv = r->add_attributes();
    kv->set_key("service");
    kv->set_value(v);
  }
  const auto items = EncodeBulkItems(b, ElasticsearchConfig{});
  const std::string& line = items[0].lines;
  CHECK(line.find("\"labels\":{\"service\":\"second\"}") != std::string::npos);
  auto [action, doc] = Lines(items[0]);
  CHECK(doc["labels"].MemberCount() == 1);
}

TEST_CASE("an hourly index pattern names each record's own hour") {
  ElasticsearchConfig c;
  c.index = "logs-%Y.%m.%d.%H";
  DecodedBatch b = MakeBatch();
  AddRecord(b, "a")->set_time_unix_nano(3600ULL * 1000000000ULL);      // 01:00
  AddRecord(b, "b", 10)->set_time_unix_nano(7200ULL * 1000000000ULL);  // 02:00, same day
  const auto items = EncodeBulkItems(b, c);
  CHECK(std::string(Lines(items[0]).first["create"]["_index"].GetString()) == "logs-1970.01.01.01");
  CHECK(std::string(Lines(items[1]).first["create"]["_index"].GetString()) == "logs-1970.01.01.02");
}

TEST_CASE("attribute keys that escape to the same text are one label") {
  DecodedBatch b = MakeBatch();
  auto* r = AddRecord(b, "x");
  auto* kv = r->add_attributes();
  kv->set_key("k\xff");  // the raw byte 0xff: written as the text \xff
  kv->set_value("raw");
  kv = r->add_attributes();
  kv->set_key("k\\xff");  // the literal text \xff
  kv->set_value("text");
  auto [action, doc] = Lines(EncodeBulkItems(b, ElasticsearchConfig{})[0]);
  CHECK(std::string(doc["labels"]["k\\xff"].GetString()) == "text");
  CHECK(doc["labels"].MemberCount() == 2);  // service + the one k\xff
}

TEST_CASE("the file source's Kubernetes metadata becomes ECS kubernetes.* and container.id") {
  DecodedBatch b = MakeBatch("/var/log/containers/web-1_shop_nginx-abc.log");
  auto* src = b.batch->mutable_sources(0);
  for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{{"k8s.namespace.name", "shop"},
                                                                             {"k8s.pod.name", "web-1"},
                                                                             {"k8s.pod.uid", "u-1"},
                                                                             {"k8s.container.name", "nginx"},
                                                                             {"container.id", "abc"}}) {
    auto* kv = src->add_attributes();
    kv->set_key(k);
    kv->set_value(v);
  }
  auto* r = AddRecord(b, "GET /");
  auto* kv = r->add_attributes();
  kv->set_key("log.iostream");
  kv->set_value("stderr");
  auto [action, doc] = Lines(EncodeBulkItems(b, ElasticsearchConfig{})[0]);
  CHECK(std::string(doc["kubernetes"]["namespace"].GetString()) == "shop");
  CHECK(std::string(doc["kubernetes"]["pod"]["name"].GetString()) == "web-1");
  CHECK(std::string(doc["kubernetes"]["pod"]["uid"].GetString()) == "u-1");
  CHECK(std::string(doc["kubernetes"]["container"]["name"].GetString()) == "nginx");
  CHECK(std::string(doc["container"]["id"].GetString()) == "abc");
  CHECK(std::string(doc["labels"]["log.iostream"].GetString()) == "stderr");

  DecodedBatch plain = MakeBatch();
  AddRecord(plain, "x");
  auto [a2, d2] = Lines(EncodeBulkItems(plain, ElasticsearchConfig{})[0]);
  CHECK_FALSE(d2.HasMember("kubernetes"));
  CHECK_FALSE(d2.HasMember("container"));
}

TEST_CASE("severity numbers map to ECS log.level names") {
  CHECK(SeverityText(0).empty());
  CHECK(SeverityText(1) == "trace");
  CHECK(SeverityText(5) == "debug");
  CHECK(SeverityText(9) == "info");
  CHECK(SeverityText(13) == "warn");
  CHECK(SeverityText(17) == "error");
  CHECK(SeverityText(21) == "fatal");
}

}  // namespace
}  // namespace logship::collector::elasticsearch
