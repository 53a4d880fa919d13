#include "collector/sinks/elasticsearch/bulk_response.h"

#include <doctest/doctest.h>

#include <string>

namespace logship::collector::elasticsearch {
namespace {

TEST_CASE("per-item statuses and errors come back in request order") {
  auto r = ParseBulkResponse(R"({"took":3,"errors":true,"items":[
    {"create":{"_index":"i","_id":"1","status":201,"result":"created"}},
    {"create":{"_index":"i","_id":"2","status":409,"error":{"type":"version_conflict_engine_exception","reason":"exists"}}},
    {"create":{"_index":"i","_id":"3","status":429,"error":{"type":"es_rejected_execution_exception","reason":"busy"}}},
    {"create":{"_index":"i","_id":"4","status":400,"error":{"type":"mapper_parsing_exception","reason":"bad field"}}}]})");
  REQUIRE(r.ok());
  CHECK(r->errors);
  REQUIRE(r->items.size() == 4);
  CHECK(r->items[0].status == 201);
  CHECK(r->items[0].error_type.empty());
  CHECK(r->items[1].error_type == "version_conflict_engine_exception");
  CHECK(r->items[3].error_reason == "bad field");
  CHECK(ClassifyItem(r->items[0].status) == ItemAction::kStored);
  CHECK(ClassifyItem(r->items[1].status) == ItemAction::kStored);
  CHECK(ClassifyItem(r->items[2].status) == ItemAction::kRetry);
  CHECK(ClassifyItem(r->items[3].status) == ItemAction::kDeadLetter);
}

TEST_CASE("the filter_path form (statuses only) parses") {
  auto r = ParseBulkResponse(R"({"errors":false,"items":[{"create":{"status":201}},{"create":{"status":201}}]})");
  REQUIRE(r.ok());
  CHECK_FALSE(r->errors);
  CHECK(r->items.size() == 2);
}

TEST_CASE("statuses are classified: stored, retried, dead-lettered, blocked") {
  CHECK(ClassifyItem(200) == ItemAction::kStored);
  CHECK(ClassifyItem(409) == ItemAction::kStored);
  CHECK(ClassifyItem(429) == ItemAction::kRetry);
  CHECK(ClassifyItem(500) == ItemAction::kRetry);
  CHECK(ClassifyItem(503) == ItemAction::kRetry);
  CHECK(ClassifyItem(400) == ItemAction::kDeadLetter);
  CHECK(ClassifyItem(413) == ItemAction::kDeadLetter);
  CHECK(ClassifyItem(401) == ItemAction::kBlocked);
  CHECK(ClassifyItem(403) == ItemAction::kBlocked);
  CHECK(ClassifyItem(404) == ItemAction::kBlocked);
  CHECK(ClassifyItem(0) == ItemAction::kRetry);
}

TEST_CASE("malformed responses are errors, never crashes") {
  for (const char* bad : {"", "{", "[]", "null", "{\"items\":5}", "{\"items\":[1]}", "{\"items\":[{}]}",
                          "{\"items\":[{\"create\":{}}]}", "{\"items\":[{\"create\":{\"status\":\"201\"}}]}",
                          "{\"items\":[{\"a\":{\"status\":1},\"b\":{}}]}", "{\"took\":1,\"items\":[{\"create\":{\"status\":201}}"}) {
    CAPTURE(bad);
    CHECK_FALSE(ParseBulkResponse(bad).ok());
  }
  // Deep nesting does not recurse.
  const std::string deep = "{\"items\":[" + std::string(100000, '[') + std::string(100000, ']') + "]}";
  CHECK_FALSE(ParseBulkResponse(deep).ok());
}

TEST_CASE("long reasons are capped; control characters are blanked") {
  const std::string reason(10000, 'x');
  auto r = ParseBulkResponse("{\"items\":[{\"create\":{\"status\":400,\"error\":{\"type\":\"t\\n\",\"reason\":\"" +
                                   reason + "\"}}}]}");
  REQUIRE(r.ok());
  CHECK(r->items[0].error_reason.size() == kMaxReasonBytes);
  CHECK(r->items[0].error_type == "t ");
}

TEST_CASE("error summaries: the type and reason of an error body, else the start of the body") {
  CHECK(ErrorSummary(R"({"error":{"type":"security_exception","reason":"missing credentials"},"status":401})") ==
        "security_exception: missing credentials");
  CHECK(ErrorSummary("<html>Bad Gateway</html>") == "<html>Bad Gateway</html>");
  CHECK(ErrorSummary("") == "(empty body)");
  CHECK(ErrorSummary(std::string(1000, 'y')).size() == 200);
}

}  // namespace
}  // namespace logship::collector::elasticsearch
