#include "collector/sinks/elasticsearch/engine_info.h"

#include <doctest/doctest.h>

namespace logship::collector::elasticsearch {
namespace {

TEST_CASE("GET / names the engine: OpenSearch by version.distribution, else Elasticsearch") {
  auto os = ParseRootInfo(R"({"name":"n","version":{"distribution":"opensearch","number":"2.19.6"},"tagline":"x"})");
  REQUIRE(os.ok());
  CHECK(os->opensearch());
  CHECK(os->major == 2);
  CHECK(os->minor == 19);
  CHECK(os->Describe() == "opensearch 2.19.6");
  auto es = ParseRootInfo(R"({"version":{"number":"8.19.21","build_flavor":"default"}})");
  REQUIRE(es.ok());
  CHECK_FALSE(es->opensearch());
  CHECK(es->major == 8);
  CHECK(es->Describe() == "elasticsearch 8.19.21");
  auto odd = ParseRootInfo(R"({"version":{"number":"main-SNAPSHOT"}})");
  REQUIRE(odd.ok());
  CHECK(odd->major == 0);  // unknown: newest behaviour
}

TEST_CASE("a GET / without a version, or not JSON, is an error; the nodes API is the fallback") {
  CHECK_FALSE(ParseRootInfo(R"({"error":"Incorrect HTTP method for uri [/] and method [GET]","status":405})").ok());
  CHECK_FALSE(ParseRootInfo("<html>proxy</html>").ok());
  CHECK_FALSE(ParseRootInfo(R"({"version":{"number":7}})").ok());
  auto n = ParseNodesInfo(R"({"nodes":{"crjGWgMNQuKe17w10mtnIg":{"version":"8.19.21"}}})");
  REQUIRE(n.ok());
  CHECK(n->version == "8.19.21");
  CHECK_FALSE(ParseNodesInfo(R"({"nodes":{}})").ok());
  CHECK_FALSE(ParseNodesInfo("[]").ok());
}

TEST_CASE("no endpoint: only a string error from the router, never a document error quoting log text") {
  CHECK(IsNoEndpoint(R"({"error":"no handler found for uri [/not/es/_bulk] and method [POST]"})"));
  CHECK(IsNoEndpoint(R"({"error":"Incorrect HTTP method for uri [/_bulk] and method [GET], allowed: [POST]","status":405})"));
  CHECK_FALSE(IsNoEndpoint(
      R"({"error":{"type":"mapper_parsing_exception","reason":"no handler found for uri [x] in field [message]"},"status":400})"));
  CHECK_FALSE(IsNoEndpoint(R"({"error":"something else"})"));
  CHECK_FALSE(IsNoEndpoint("no handler found for uri"));
  CHECK_FALSE(IsNoEndpoint(""));
}

}  // namespace
}  // namespace logship::collector::elasticsearch
