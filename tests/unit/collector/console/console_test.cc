// JSON escaping, the bearer-token check, the agent registry, the page's headers, and the
// console section of collector.yaml.
#include <doctest/doctest.h>

#include <fstream>

#include "collector/collector_config.h"
#include "collector/server/agent_registry.h"
#include "collector/console/console.h"
#include "collector/console/console_auth.h"
#include "collector/console/json.h"
#include "collector/console/static_assets.h"
#include "tests/unit/testing/config_error.h"

namespace logship::collector::console {
namespace {

TEST_CASE("console json: strings are escaped for JSON and for HTML") {
  CHECK(JsonString("plain") == "\"plain\"");
  CHECK(JsonString("<script>alert('x')</script>") ==
        "\"\\u003cscript\\u003ealert(\\u0027x\\u0027)\\u003c/script\\u003e\"");
  CHECK(JsonString("a\"b\\c\nd\te&f") == "\"a\\\"b\\\\c\\nd\\te\\u0026f\"");
  CHECK(JsonString(std::string("\x01\x7f", 2)) == "\"\\u0001\x7f\"");
  CHECK(JsonString("caf\xc3\xa9") == "\"caf\xc3\xa9\"");
  CHECK(JsonString("bad\xff\xfe!") == "\"bad\\ufffd\\ufffd!\"");
  CHECK(JsonString("\xe2\x80\xa8") == "\"\\u2028\"");
}

TEST_CASE("console json: timestamps in RFC 3339 with microseconds") {
  CHECK(FormatTimestamp(0) == "1970-01-01T00:00:00.000000Z");
  CHECK(FormatTimestamp(1763827200123456) == "2025-11-22T16:00:00.123456Z");
  CHECK(FormatTimestamp(-1) == "1969-12-31T23:59:59.999999Z");
}

TEST_CASE("console auth: only the exact bearer token passes") {
  const ConsoleAuth auth = ConsoleAuth::ForTest("0123456789abcdef-token");
  CHECK(auth.Allows("Bearer 0123456789abcdef-token"));
  CHECK(!auth.Allows(""));
  CHECK(!auth.Allows("Bearer "));
  CHECK(auth.Allows("bearer 0123456789abcdef-token"));  // the scheme is case-insensitive (RFC 7235)
  CHECK(!auth.Allows("Bearer 0123456789abcdef-tokeN"));
  CHECK(!auth.Allows("Bearer 0123456789abcdef-token2"));
  CHECK(!auth.Allows("Basic 0123456789abcdef-token"));
}

TEST_CASE("console auth: the token file must hold a token of 16 characters or more") {
  const std::string path = "/tmp/logship-console-token-test";
  std::ofstream(path) << "short\n";
  CHECK(!ConsoleAuth::Load(path).ok());
  std::ofstream(path) << "0123456789abcdef-long-enough \nsecond line ignored\n";
  auto auth = ConsoleAuth::Load(path);
  REQUIRE(auth.ok());
  CHECK(auth->Allows("Bearer 0123456789abcdef-long-enough"));
  std::remove(path.c_str());
  CHECK(!ConsoleAuth::Load("/nonexistent/token").ok());
}

TEST_CASE("console agent registry: connection state, last batch and rates") {
  int64_t now = 1000000;
  AgentRegistry reg([&now] { return now; });
  reg.StreamOpened("web-1", "ipv4:10.0.0.1:5000", "0.1.0");
  reg.BatchReceived("web-1", "web-1.example", 100, 10000);
  now += 5000;
  reg.BatchReceived("web-1", "web-1.example", 200, 20000);
  reg.BatchReceived("db-1", "db", 1, 10);  // a batch without an open stream (registry set late)
  auto agents = reg.Snapshot();
  REQUIRE(agents.size() == 2);
  CHECK(agents[0].id == "db-1");
  CHECK(agents[0].streams == 0);
  const AgentInfo& web = agents[1];
  CHECK(web.id == "web-1");
  CHECK(web.host == "web-1.example");
  CHECK(web.version == "0.1.0");
  CHECK(web.streams == 1);
  CHECK(web.last_batch_ms == now);
  CHECK(web.records_total == 300);
  CHECK(web.bytes_total == 30000);
  CHECK(web.records_per_second == doctest::Approx(30.0));  // 300 over the minimum span of 10 s
  reg.StreamClosed("web-1");
  reg.StreamClosed("web-1");  // never below zero
  CHECK(reg.Snapshot()[1].streams == 0);
  now += 600000;  // ten minutes later, nothing new: the rate falls to zero
  CHECK(reg.Snapshot()[1].records_per_second == 0.0);
  CHECK(reg.Snapshot()[1].records_total == 300);
}

TEST_CASE("console agent registry: the version comes from the gRPC user agent") {
  CHECK(AgentRegistry::VersionFromUserAgent("logship-agent/0.1.0 grpc-c++/1.51.1 (linux; chttp2)") == "0.1.0");
  CHECK(AgentRegistry::VersionFromUserAgent("grpc-python/1.51.1") == "");
}

TEST_CASE("console page: embedded, with a strict content security policy") {
  const StaticAsset* index = FindStaticAsset("/");
  REQUIRE(index != nullptr);
  CHECK(index->body.find("<title>logship console</title>") != std::string_view::npos);
  REQUIRE(FindStaticAsset("/app.js") != nullptr);
  CHECK(FindStaticAsset("/app.js")->body.find("innerHTML") == std::string_view::npos);
  CHECK(FindStaticAsset("/../etc/passwd") == nullptr);
  const http::Response r = StaticResponse("/index.html");
  CHECK(r.status == 200);
  bool csp = false;
  for (const auto& [k, v] : r.headers)
    if (k == "Content-Security-Policy") csp = v.find("script-src 'self'") != std::string::npos;
  CHECK(csp);
  CHECK(StaticResponse("/nope").status == 404);
}

TEST_CASE("console config: off when absent or disabled, token_file required, needs postgres and http") {
  const std::string base = "sinks:\n  postgres: {dsn: \"dbname=logs\"}\nhttp: {listen: 127.0.0.1:9740}\n";
  CHECK(!ParseCollectorConfig(base, "c.yaml").console.has_value());
  CHECK(!ParseCollectorConfig(base + "console: {enabled: false}\n", "c.yaml").console.has_value());
  const CollectorConfig c = ParseCollectorConfig(
      base + "console: {enabled: true, token_file: /etc/t, connections: 3, statement_timeout: 2s}\n", "c.yaml");
  REQUIRE(c.console.has_value());
  CHECK(c.console->token_file == "/etc/t");
  CHECK(c.console->connections == 3u);
  CHECK(c.console->statement_timeout == std::chrono::milliseconds(2000));
  CHECK(testing::ConfigErrorOf([&] { ParseCollectorConfig(base + "console: {enabled: true}\n", "c.yaml"); })
            .find("token_file") != std::string::npos);
  CHECK(testing::ConfigErrorOf([&] { ParseCollectorConfig(base + "console: {token_file: /t, tokn: 1}\n", "c.yaml"); })
            .find("tokn") != std::string::npos);
  CHECK(testing::ConfigErrorOf([&] {
          ParseCollectorConfig("sinks: {blackhole: {}}\nconsole: {token_file: /t}\n", "c.yaml");
        }).find("postgres") != std::string::npos);
  const std::string pg = "sinks:\n  postgres: {dsn: \"dbname=logs\"}\n";
  CHECK(testing::ConfigErrorOf([&] {
          ParseCollectorConfig(pg + "http: {listen: \"\"}\nconsole: {token_file: /t}\n", "c.yaml");
        }).find("http.listen") != std::string::npos);
  // Its token would cross the network in clear text: TLS, loopback, or insecure: true.
  CHECK(testing::ConfigErrorOf([&] { ParseCollectorConfig(pg + "console: {token_file: /t}\n", "c.yaml"); })
            .find("clear text") != std::string::npos);
  CHECK(ParseCollectorConfig(pg + "http: {listen: 0.0.0.0:9740, tls: {cert_file: /c, key_file: /k}}\n"
                                  "console: {token_file: /t}\n", "c.yaml").http.tls());
  CHECK(ParseCollectorConfig(pg + "insecure: true\nconsole: {token_file: /t}\n", "c.yaml").console.has_value());
}

}  // namespace
}  // namespace logship::collector::console
