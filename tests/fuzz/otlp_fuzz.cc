// Fuzzes OTLP request decoding and the conversion into logship batches (deep nesting,
// odd values, huge repeated fields).
#include <cstdint>

#include "collector/ingest/otlp_service.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest req;
  if (!req.ParseFromArray(data, static_cast<int>(size))) return 0;
  logship::collector::Limits limits;
  logship::collector::DecodedBatch batch;
  for (const auto& rl : req.resource_logs())
    (void)logship::collector::ConvertResourceLogs(rl, limits, "fuzz", "peer", &batch);
  return 0;
}
