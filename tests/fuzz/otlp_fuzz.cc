// Fuzzes OTLP request handling as the collector does it: the wire-shape check first (counts
// and nesting, no parse), then the parse and the conversion into logship batches (deep
// nesting, odd values, huge repeated fields), with ids bound to a sender.
#include <cstdint>
#include <string_view>
#include <vector>

#include "collector/server/otlp_service.h"
#include "collector/server/otlp_shape.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  logship::collector::OtlpShapeLimits shape;
  shape.max_records = 10000;
  shape.max_objects = 200000;
  if (!logship::collector::CheckOtlpShape(bytes, shape).ok()) return 0;
  opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest req;
  if (!req.ParseFromArray(data, static_cast<int>(size))) return 0;
  logship::collector::Limits limits;
  for (const auto& rl : req.resource_logs()) {
    logship::collector::DecodedBatch batch;
    std::vector<logship::collector::RefusedRecord> refused;
    (void)logship::collector::ConvertResourceLogs(rl, limits, "fuzz", "peer", &batch, &refused, "principal");
  }
  return 0;
}
