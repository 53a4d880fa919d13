// The property "no input crashes the collector", stated over every parser of hostile content:
// each is fed adversarial inputs past its size, depth and count bounds, and must return, keep
// the record, and say what it could not parse. (Under ASan/UBSan in CI, an overflow or an
// out-of-bounds read here fails the run.) The fuzzers explore further: tests/fuzz/.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "collector/collector_config.h"
#include "collector/server/otlp_service.h"
#include "collector/server/otlp_shape.h"
#include "collector/pipeline/pipeline.h"
#include "common/config/config_node.h"

namespace logship::collector {
namespace {

std::shared_ptr<const Pipeline> AllParsers() {
  const auto root = LoadYamlString(
      "pipeline:\n"
      "  - json: {}\n"
      "  - regex: {pattern: '^(?P<a>(x+x+)+y)|(?P<client>\\S+) (?P<rest>.*)$'}\n"
      "  - kv: {}\n",
      "hostile.yaml");
  return Pipeline::FromConfig(ConfigNode(root.raw()["pipeline"], root.file(), "pipeline"));
}

std::vector<std::pair<std::string, std::string>> Corpus() {
  std::vector<std::pair<std::string, std::string>> c;
  c.emplace_back("json nested 500,000 deep", std::string(500000, '['));
  c.emplace_back("json objects nested 200,000 deep", [] {
    std::string s;
    for (int i = 0; i < 200000; ++i) s += "{\"a\":";
    return s;
  }());
  c.emplace_back("json nested inside a string-looking prefix", "{\"x\":\"" + std::string(100, '[') + "\"," +
                                                                   std::string(100000, '[') + "}");
  c.emplace_back("json object with 60,000 keys", [] {
    std::string s = "{";
    for (int i = 0; i < 60000; ++i) s += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":1";
    return s + "}";
  }());
  c.emplace_back("json array nested 60 deep under an object", "{\"a\":" + std::string(60, '[') + std::string(60, ']') + "}");
  c.emplace_back("json 2 MiB string", "{\"msg\":\"" + std::string(2 << 20, 'a') + "\"}");
  c.emplace_back("json huge numbers and times",
                 R"({"ts":99999999999999999999999,"time":"9999-12-31T23:59:59Z","timestamp":-1,"level":"9999999999"})");
  c.emplace_back("json bad escapes", "{\"a\":\"\\u12\",\"b\":\"\\ud800\"}");
  c.emplace_back("kv 1 MiB of pairs", [] {
    std::string s;
    while (s.size() < (1 << 20)) s += "key" + std::to_string(s.size()) + "=v ";
    return s;
  }());
  c.emplace_back("kv 200,000 quotes", "a=" + std::string(200000, '"'));
  c.emplace_back("kv escapes at the end", "a=\"\\");
  c.emplace_back("regex backtracking bait", std::string(100000, 'x'));
  static constexpr char kInvalidUtf8[] = "\xff\xfe\x00\xed\xa0\x80 ts=\xc3";
  c.emplace_back("invalid UTF-8 and NUL", std::string(kInvalidUtf8, sizeof(kInvalidUtf8) - 1));
  c.emplace_back("timestamp fields out of range",
                 "ts=0000-00-00T00:00:00Z time=1677-09-21T00:12:43Z timestamp=2262-04-12T00:00:00Z "
                 "@timestamp=9223372036854775807999");
  return c;
}

TEST_CASE("hostile input: every parser returns on adversarial corpora and keeps the record") {
  const auto pipeline = AllParsers();
  EventTimeWindow window{std::chrono::nanoseconds(std::chrono::hours(24 * 7)).count(),
                         std::chrono::nanoseconds(std::chrono::hours(1)).count()};
  for (const auto& [what, body] : Corpus()) {
    logship::v1::Batch b;
    b.add_sources()->set_name("/var/log/hostile.log");
    auto* r = b.add_records();
    r->set_body(body);
    r->set_observed_time_unix_nano(1764000000000000000ULL);
    const auto t0 = std::chrono::steady_clock::now();
    CHECK_MESSAGE(pipeline->Process(&b, window) == 0, what);
    const auto took = std::chrono::steady_clock::now() - t0;
    REQUIRE_MESSAGE(b.records_size() == 1, what);
    CHECK_MESSAGE(b.records(0).body() == body, what);  // stored as it came
    CHECK_MESSAGE(b.records(0).attributes_size() <= kMaxRecordAttributes, what);
    const uint64_t t = b.records(0).time_unix_nano();
    CHECK_MESSAGE((t == 0 || (t >= 1764000000000000000ULL - 7 * 86400000000000ULL &&
                              t <= 1764000000000000000ULL + 3600000000000ULL)),
                  what);
    CHECK_MESSAGE(took < std::chrono::seconds(20), what);  // bounded (generous for ASan)
  }
}

TEST_CASE("hostile input: timestamps never overflow, whatever the digits") {
  for (const char* s : {"99999999999999999999", "9999999999999999999", "9223372036854775807", "9223372036854775808",
                        "18446744073709551615", "99999999999.999999999", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
                        "2262-04-11T23:47:16.854775807Z", "2262-04-11T23:47:17Z", "1969-12-31T23:59:59Z",
                        "2026-01-01T00:00:00+99:99", "2026-01-01T00:00:00.99999999999999999999Z", ""}) {
    const int64_t ns = ParseTimestampNanos(s);
    CHECK_MESSAGE(ns >= 0, s);
  }
  CHECK(ParseTimestampNanos("9999-12-31T23:59:59Z") == 0);
  CHECK(ParseTimestampNanos("99999999999") == 0);  // seconds beyond 2262
  CHECK(ParseTimestampNanos("2026-01-01T00:00:00Z") == 1767225600000000000LL);
}

// A length-delimited field `field` holding `inner` (protobuf wire format).
std::string Field(int field, const std::string& inner) {
  std::string out(1, static_cast<char>((field << 3) | 2));
  for (uint64_t n = inner.size();; n >>= 7) {
    out.push_back(static_cast<char>((n & 0x7f) | (n > 0x7f ? 0x80 : 0)));
    if (n <= 0x7f) break;
  }
  return out + inner;
}

std::string Request(const std::string& record) {
  return Field(1, Field(2, Field(2, record)));  // resource_logs { scope_logs { log_records } }
}

TEST_CASE("hostile input: OTLP shapes are bounded before parsing") {
  // A body nested 5,000 values deep: AnyValue{kvlist{KeyValue{value: AnyValue{...}}}}.
  std::string value;
  for (int i = 0; i < 5000; ++i) value = Field(6, Field(1, Field(2, value)));
  OtlpShape shape;
  const Status deep = CheckOtlpShape(Request(Field(5, value)), OtlpShapeLimits{}, &shape);
  CHECK(deep.code() == Status::Code::kInvalidArgument);
  CHECK(deep.message().find("nest deeper") != std::string::npos);
  // 20 levels (60 messages) pass, as protobuf itself would parse them.
  value.clear();
  for (int i = 0; i < 20; ++i) value = Field(6, Field(1, Field(2, value)));
  CHECK(CheckOtlpShape(Request(Field(5, value)), OtlpShapeLimits{}, &shape).ok());
  // A record count over the limit is refused from the counts alone.
  std::string scope;
  for (int i = 0; i < 2000; ++i) scope += Field(2, "");
  const std::string req = Field(1, Field(2, scope));
  OtlpShapeLimits small;
  small.max_records = 1000;
  CHECK(CheckOtlpShape(req, small, &shape).code() == Status::Code::kResourceExhausted);
  CHECK(CheckOtlpShape(req, OtlpShapeLimits{}, &shape).ok());
  CHECK(shape.records == 2000u);
  // Lengths that run past the end, and garbage, are malformed, never a crash.
  CHECK(CheckOtlpShape(std::string("\x0a\xff\xff\xff\x0f", 5), OtlpShapeLimits{}).code() ==
        Status::Code::kInvalidArgument);
  CHECK_FALSE(CheckOtlpShape(std::string(1000, '\xff'), OtlpShapeLimits{}).ok());
}

}  // namespace
}  // namespace logship::collector
