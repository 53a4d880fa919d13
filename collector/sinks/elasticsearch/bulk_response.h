// Parses Elasticsearch _bulk responses (and error bodies). The response is untrusted
// input: any malformed body is an error result, never a crash; parsing is iterative
// (no recursion on deep nesting) and the strings kept are capped.
//
//   {"took":3,"errors":true,"items":[
//     {"create":{"_index":"i","_id":"…","status":201,"result":"created"}},
//     {"create":{"_index":"i","_id":"…","status":409,"error":{"type":"version_conflict_engine_exception","reason":"…"}}}]}
//
// Items come back in request order; that is how they are matched to documents.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace logship::collector::elasticsearch {

struct BulkItemResult {
  int status = 0;
  std::string error_type;    // empty on success
  std::string error_reason;  // capped at kMaxReasonBytes
};

struct BulkResponse {
  bool errors = false;
  std::vector<BulkItemResult> items;
};

inline constexpr size_t kMaxReasonBytes = 512;

// What to do with one item, by its status.
enum class ItemAction {
  kStored,      // 200/201, or 409 on create: the document is there
  kRetry,       // 429 or 5xx: send this item again later
  kDeadLetter,  // 400 and other 4xx about the document itself: never retried
  kBlocked,     // 401/403/404: the cluster refuses us, not the document; retry the batch
};
ItemAction ClassifyItem(int status);

Result<BulkResponse> ParseBulkResponse(std::string_view body);

// "type: reason" from an Elasticsearch error body ({"error":{"type","reason"},"status"}),
// else the start of the body, printable and capped; for logs and dead letters.
std::string ErrorSummary(std::string_view body);

}  // namespace logship::collector::elasticsearch
