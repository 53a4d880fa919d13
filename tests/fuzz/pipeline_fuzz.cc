// Fuzzes the collector pipeline's parsers (json, regex, kv, time and severity extraction)
// with arbitrary bodies. A record is never dropped by a parse failure.
#include <cstdint>
#include <string>

#include "collector/model/severity.h"
#include "collector/pipeline/pipeline.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::shared_ptr<const logship::collector::Pipeline> pipeline = [] {
    const auto root = logship::LoadYamlString(
        "pipeline:\n"
        "  - json: {}\n"
        "  - regex: {pattern: '^(?P<client>\\S+) \\S+ \\S+ \\[(?P<time>[^\\]]+)\\] \"(?P<method>\\S+)'}\n"
        "  - kv: {}\n",
        "fuzz.yaml");
    return logship::collector::Pipeline::FromConfig(
        logship::ConfigNode(root.raw()["pipeline"], root.file(), "pipeline"));
  }();
  logship::v1::Batch batch;
  batch.add_sources()->set_name("/var/log/fuzz.log");
  batch.add_records()->set_body(data, size);
  pipeline->Process(&batch);
  if (batch.records_size() != 1) __builtin_trap();
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)logship::collector::ParseTimestampNanos(text);
  (void)logship::collector::SeverityFromText(text);
  return 0;
}
