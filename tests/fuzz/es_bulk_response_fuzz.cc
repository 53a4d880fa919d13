// Fuzzes the Elasticsearch _bulk response parser and error-body summary: whatever a
// broken or hostile cluster answers, the sink gets a result or an error, never a crash,
// and the strings it keeps stay capped.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "collector/sinks/elasticsearch/bulk_response.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto r = logship::collector::elasticsearch::ParseBulkResponse(body);
  if (r.ok())
    for (const auto& item : r->items) {
      (void)logship::collector::elasticsearch::ClassifyItem(item.status);
      if (item.error_reason.size() > logship::collector::elasticsearch::kMaxReasonBytes) std::abort();
    }
  if (logship::collector::elasticsearch::ErrorSummary(body).size() > 2 * logship::collector::elasticsearch::kMaxReasonBytes + 2)
    std::abort();
  return 0;
}
