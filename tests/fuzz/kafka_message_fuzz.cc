// Fuzzes what an indexer reads from Kafka (collector/kafka/batch_message.h): the first byte
// picks the message version, the rest is the value; a decoded batch then goes through the
// pipeline's fixed steps with the window it carried, as the indexer does. Nothing may crash,
// and what decoding allocates stays within its limits.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string_view>

#include "collector/kafka/batch_message.h"
#include "collector/pipeline/pipeline.h"

using namespace logship::collector;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static auto* zstd = new logship::ZstdDecompressor;
  // The indexer's limits but 4 MiB decoded (as the frame decoder's harness), so a bomb is quick.
  static auto* frames = [] {
    Limits l = ForwardedFrameLimits();
    l.max_uncompressed_bytes = 4 << 20;
    return new FrameDecoder(l);
  }();
  static const auto pipeline = Pipeline::FromConfig(logship::ConfigNode(YAML::Node(), nullptr, "pipeline"));
  const std::string_view value(reinterpret_cast<const char*>(data + 1), size - 1);
  DecodedBatch batch;
  EventTimeWindow window;
  const logship::Status s = (data[0] & 1) ? DecodeForwardedValue(value, *frames, &batch, &window)
                                          : DecodeBatchValue(value, *zstd, &batch);
  if (s.ok()) pipeline->Process(batch.batch, window);
  return 0;
}
