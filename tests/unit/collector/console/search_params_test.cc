#include "collector/console/search_params.h"

#include <doctest/doctest.h>

#include "collector/model/severity.h"

namespace logship::collector::console {
namespace {

constexpr int64_t kNow = 1763827200000000;  // 2025-11-22T16:00:00Z

http::Request Req(std::vector<std::pair<std::string, std::string>> query) {
  http::Request r;
  r.method = "GET";
  r.path = "/api/v1/search";
  r.query = std::move(query);
  return r;
}

TEST_CASE("console params: defaults are the last hour, 100 lines, about 120 buckets") {
  auto p = ParseSearchParams(Req({}), kNow);
  REQUIRE(p.ok());
  CHECK(p->filter.to_us == kNow);
  CHECK(p->filter.from_us == kNow - 3600000000LL);
  CHECK(p->limit == 100);
  CHECK(p->step_seconds == 30);
  CHECK(!p->cursor.has_value());
}

TEST_CASE("console params: times as RFC 3339, Unix ms and relative") {
  CHECK(*ParseTime("2025-11-22T16:00:00Z", kNow) == kNow);
  CHECK(*ParseTime("2025-11-22T16:00:00.5Z", kNow) == kNow + 500000);
  CHECK(*ParseTime("2025-11-22T17:30:00+01:30", kNow) == kNow);
  CHECK(*ParseTime("1763827200000", kNow) == kNow);
  CHECK(*ParseTime("now", kNow) == kNow);
  CHECK(*ParseTime("now-15m", kNow) == kNow - 900000000LL);
  CHECK(*ParseTime("now-2d", kNow) == kNow - 2 * 86400000000LL);
  for (const char* bad : {"yesterday", "2025-11-22", "2025-13-01T00:00:00Z", "2025-11-22T16:00:00", "now-5x", "now-",
                          "2025-11-22T16:00:00Zjunk", "-5"})
    CHECK_MESSAGE(!ParseTime(bad, kNow).ok(), bad);
}

TEST_CASE("console params: filters, attributes, limit, cursor and step") {
  auto p = ParseSearchParams(Req({{"from", "now-1d"}, {"to", "now"}, {"host", "web-1"}, {"source", "/var/log/a.log"},
                                  {"severity", "warn"}, {"text", "time<out>"}, {"attr", "service=checkout"},
                                  {"attr", "k=a=b"}, {"limit", "500"},
                                  {"cursor", "5_0123abcd-ef01-2345-6789-abcdefabcdef"}, {"step", "5m"}}),
                             kNow);
  REQUIRE(p.ok());
  CHECK(p->filter.host == "web-1");
  CHECK(p->filter.source == "/var/log/a.log");
  CHECK(p->filter.min_severity == 13);
  CHECK(p->filter.text == "time<out>");
  REQUIRE(p->filter.attributes.size() == 2);
  CHECK(p->filter.attributes[0] == std::make_pair(std::string("service"), std::string("checkout")));
  CHECK(p->filter.attributes[1] == std::make_pair(std::string("k"), std::string("a=b")));
  CHECK(p->limit == 500);
  REQUIRE(p->cursor.has_value());
  CHECK(p->cursor->ts_us == 5);
  CHECK(p->step_seconds == 300);
}

TEST_CASE("console params: bad values are refused with the parameter's name") {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"limit", "0"},        {"limit", "501"},     {"limit", "ten"},  {"severity", "loud"},
      {"attr", "novalue"},   {"attr", "=x"},       {"cursor", "zzz"}, {"from", "later"},
      {"step", "0"},         {"step", "1"},        {"text", std::string(300, 'x')},
      {"host", std::string("a\0b", 3)}};
  for (const auto& kv : bad) {
    auto p = ParseSearchParams(Req({kv}), kNow);
    CHECK_MESSAGE(!p.ok(), kv.first);
    if (!p.ok()) CHECK(p.status().message().find("parameter " + kv.first) == 0);
  }
  auto p = ParseSearchParams(Req({{"from", "now"}, {"to", "now-1h"}}), kNow);
  CHECK(!p.ok());
  std::vector<std::pair<std::string, std::string>> many;
  for (int i = 0; i < 9; ++i) many.emplace_back("attr", "k" + std::to_string(i) + "=v");
  CHECK(!ParseSearchParams(Req(many), kNow).ok());
}

TEST_CASE("console params: the automatic step keeps the bucket count bounded") {
  auto p = ParseSearchParams(Req({{"from", "now-30d"}}), kNow);
  REQUIRE(p.ok());
  CHECK(p->step_seconds == 21600);
  auto q = ParseSearchParams(Req({{"from", "now-5m"}}), kNow);
  REQUIRE(q.ok());
  CHECK(q->step_seconds == 5);
}

TEST_CASE("console search params: severities by name and number") {
  CHECK(ParseSeverityParam("") == 0);
  CHECK(ParseSeverityParam("WARN") == 13);
  CHECK(ParseSeverityParam("warning") == 13);
  CHECK(ParseSeverityParam("error") == 17);
  CHECK(ParseSeverityParam("24") == 24);
  CHECK(ParseSeverityParam("25") == -1);
  CHECK(ParseSeverityParam("loud") == -1);
  CHECK(std::string(SeverityClassName(0)) == "unknown");
  CHECK(std::string(SeverityClassName(9)) == "info");
  CHECK(std::string(SeverityClassName(16)) == "warn");
  CHECK(std::string(SeverityClassName(21)) == "fatal");
}

TEST_CASE("console search params: cursors round-trip and malformed ones are refused") {
  const Cursor c{1763827200123456, "0123abcd-ef01-2345-6789-abcdefabcdef"};
  auto back = ParseCursor(EncodeCursor(c));
  REQUIRE(back.has_value());
  CHECK(back->ts_us == c.ts_us);
  CHECK(back->id == c.id);
  CHECK(ParseCursor("-5_0123abcd-ef01-2345-6789-abcdefabcdef").has_value());
  for (const char* bad : {"", "_", "12", "12_", "x_0123abcd-ef01-2345-6789-abcdefabcdef",
                          "12_0123abcd-ef01-2345-6789-abcdefabcdeg", "12_0123abcd-ef01-2345-6789-abcdefabcdef0",
                          "12_0123abcd'ef01-2345-6789-abcdefabcdef"})
    CHECK_MESSAGE(!ParseCursor(bad).has_value(), bad);
}

}  // namespace
}  // namespace logship::collector::console
