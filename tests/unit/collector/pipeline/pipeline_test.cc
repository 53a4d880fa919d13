#include "collector/pipeline/pipeline.h"

#include <doctest/doctest.h>

#include "collector/model/severity.h"

#include "collector/collector_config.h"
#include "tests/unit/testing/config_error.h"

namespace logship::collector {
namespace {

using logship::testing::ConfigErrorOf;

std::shared_ptr<const Pipeline> Build(const std::string& yaml) {
  const ConfigNode root = LoadYamlString("pipeline:\n" + yaml, "p.yaml");
  return Pipeline::FromConfig(ConfigNode(root.raw()["pipeline"], root.file(), "pipeline"));
}

logship::v1::Batch OneRecord(const std::string& body, const std::string& source = "/var/log/app.log") {
  logship::v1::Batch b;
  b.add_sources()->set_name(source);
  auto* r = b.add_records();
  r->set_body(body);
  r->set_observed_time_unix_nano(1);
  return b;
}

std::string Attr(const logship::v1::LogRecord& r, const std::string& key) {
  for (const auto& kv : r.attributes())
    if (kv.key() == key) return kv.value();
  return "<absent>";
}

TEST_CASE("pipeline: json flattens objects with dotted keys, keeps arrays as JSON, never drops bad input") {
  auto p = Build("  - json: {}\n");
  auto b = OneRecord(R"({"msg":"hi","n":3,"ok":true,"user":{"id":7,"geo":{"cc":"de"}},"tags":["a","b"],"x":null})");
  CHECK(p->Process(&b) == 0);
  const auto& r = b.records(0);
  CHECK(Attr(r, "msg") == "hi");
  CHECK(Attr(r, "n") == "3");
  CHECK(Attr(r, "ok") == "true");
  CHECK(Attr(r, "user.id") == "7");
  CHECK(Attr(r, "user.geo.cc") == "de");
  CHECK(Attr(r, "tags") == R"(["a","b"])");
  CHECK(Attr(r, "x") == "<absent>");

  auto bad = OneRecord("not {json");
  CHECK(p->Process(&bad) == 0);
  CHECK(bad.records_size() == 1);
  CHECK(Attr(bad.records(0), "logship.failed_stage") == "json");
  CHECK(bad.records(0).body() == "not {json");
}

TEST_CASE("pipeline: regex named captures become attributes; a miss marks the stage") {
  auto p = Build("  - regex: {pattern: '^(?P<client>\\S+) (?P<verb>[A-Z]+)'}\n");
  auto b = OneRecord("10.0.0.1 GET /x");
  p->Process(&b);
  CHECK(Attr(b.records(0), "client") == "10.0.0.1");
  CHECK(Attr(b.records(0), "verb") == "GET");
  auto miss = OneRecord("???");
  p->Process(&miss);
  CHECK(Attr(miss.records(0), "logship.failed_stage") == "regex");
}

TEST_CASE("pipeline: kv parses quoted values and custom separators") {
  auto b = OneRecord(R"(level=warn user="Jane \"JD\" Doe" op=login junk)");
  Build("  - kv: {}\n")->Process(&b);
  CHECK(Attr(b.records(0), "user") == R"(Jane "JD" Doe)");
  CHECK(Attr(b.records(0), "op") == "login");
  CHECK(b.records(0).severity() == 13);
  auto c = OneRecord("a:1,b:2");
  Build("  - kv: {separator: ':', delimiter: ','}\n")->Process(&c);
  CHECK(Attr(c.records(0), "a") == "1");
  CHECK(Attr(c.records(0), "b") == "2");
}

TEST_CASE("pipeline: when conditions select records by source and attribute; drop removes them") {
  auto p = Build(
      "  - kv: {}\n"
      "  - set: {env: prod, when: {source: '*nginx*'}}\n"
      "  - drop: {when: {attributes: {level: debug}}}\n");
  logship::v1::Batch b;
  b.add_sources()->set_name("/var/log/nginx/access.log");
  b.add_sources()->set_name("/var/log/app.log");
  for (auto [body, src] : {std::pair{"level=debug a=1", 1}, std::pair{"level=info a=2", 0}, std::pair{"level=info a=3", 1}}) {
    auto* r = b.add_records();
    r->set_body(body);
    r->set_source_index(static_cast<uint32_t>(src));
  }
  CHECK(p->Process(&b) == 1);
  REQUIRE(b.records_size() == 2);
  CHECK(Attr(b.records(0), "a") == "2");  // order kept
  CHECK(Attr(b.records(0), "env") == "prod");
  CHECK(Attr(b.records(1), "a") == "3");
  CHECK(Attr(b.records(1), "env") == "<absent>");
}

TEST_CASE("pipeline: time and severity come from common fields, without overriding a known time") {
  auto p = Build("  - json: {}\n");
  auto b = OneRecord(R"({"@timestamp":"2026-11-20T10:00:00.25+02:00","severity":"ERROR"})");
  p->Process(&b);
  CHECK(b.records(0).time_unix_nano() == 1795161600250000000ull);
  CHECK(b.records(0).severity() == 17);
  auto known = OneRecord(R"({"ts":"2026-11-20T10:00:00Z"})");
  known.mutable_records(0)->set_time_unix_nano(5);
  p->Process(&known);
  CHECK(known.records(0).time_unix_nano() == 5);
}

TEST_CASE("pipeline: timestamps in RFC 3339 and Unix epochs of every magnitude") {
  CHECK(ParseTimestampNanos("2026-11-20T10:00:00Z") == 1795168800000000000);
  CHECK(ParseTimestampNanos("2026-11-20 10:00:00.123456789") == 1795168800123456789);
  CHECK(ParseTimestampNanos("2026-11-20T12:00:00+02:00") == 1795168800000000000);
  CHECK(ParseTimestampNanos("2026-11-20T07:00:00-0300") == 1795168800000000000);
  CHECK(ParseTimestampNanos("1795168800") == 1795168800000000000);
  CHECK(ParseTimestampNanos("1795168800.5") == 1795168800500000000);
  CHECK(ParseTimestampNanos("1795168800123") == 1795168800123000000);
  CHECK(ParseTimestampNanos("1795168800123456") == 1795168800123456000);
  CHECK(ParseTimestampNanos("1795168800123456789") == 1795168800123456789);
  CHECK(ParseTimestampNanos("yesterday") == 0);
  CHECK(ParseTimestampNanos("2026-13-01T00:00:00Z") == 0);
  CHECK(ParseTimestampNanos("") == 0);
}

TEST_CASE("pipeline: severity names and numbers") {
  CHECK(SeverityFromText("INFO") == 9);
  CHECK(SeverityFromText("Warning") == 13);
  CHECK(SeverityFromText("err") == 17);
  CHECK(SeverityFromText("FATAL") == 21);
  CHECK(SeverityFromText("17") == 17);
  CHECK(SeverityFromText("99") == 0);
  CHECK(SeverityFromText("chatty") == 0);
}

TEST_CASE("pipeline config: bad input is a ConfigError naming line and column") {
  CHECK(ConfigErrorOf([] { Build("  - regex: {pattern: '(?P<broken'}\n"); }).find("p.yaml:2:") == 0);
  CHECK(ConfigErrorOf([] { Build("  - regex: {pattern: '(?P<broken'}\n"); }).find("invalid regular expression") !=
        std::string::npos);
  CHECK(ConfigErrorOf([] { Build("  - regex: {pattern: 'no captures'}\n"); }).find("named captures") != std::string::npos);
  CHECK(ConfigErrorOf([] { Build("  - frobnicate: {}\n"); }).find("unknown stage \"frobnicate\"") != std::string::npos);
  CHECK(ConfigErrorOf([] { Build("  - drop: {}\n"); }).find("drop needs a when") != std::string::npos);
  CHECK(ConfigErrorOf([] { Build("  - json: {wen: {source: x}}\n"); }).find("unknown key \"wen\"") != std::string::npos);
  CHECK(ConfigErrorOf([] { Build("  - kv: {separator: '=='}\n"); }).find("single character") != std::string::npos);
  CHECK(ConfigErrorOf([] { Build("  - json: {}\n    regex: {}\n"); }).find("one stage") != std::string::npos);
}

TEST_CASE("pipeline config: a full collector.yaml with a pipeline parses") {
  auto c = ParseCollectorConfig(
      "listen: 127.0.0.1:4740\n"
      "pipeline:\n"
      "  - json: {}\n"
      "  - set: {env: prod}\n"
      "sinks: {blackhole: {}}\n",
      "c.yaml");
  CHECK(c.pipeline->stages() == 2);
  CHECK(ParseCollectorConfig("sinks: {blackhole: {}}\n", "c.yaml").pipeline->stages() == 0);
}

}  // namespace
}  // namespace logship::collector
