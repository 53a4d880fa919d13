// Turns a FilledBatch into what the spool stores: the serialized Batch compressed into one
// zstd frame, and the checkpoint delta serialized as the frame's meta.
// One encoder per thread: it owns a zstd context.
#pragma once

#include <cstdint>
#include <string>

#include "agent/flow/batcher.h"
#include "common/status.h"
#include "common/zstd_codec.h"

namespace logship::agent {

struct SealedBatch {
  std::string payload;               // zstd frame of the serialized Batch
  uint32_t record_count = 0;
  uint32_t uncompressed_bytes = 0;
  std::string meta;                  // serialized checkpoint delta
  v1::Checkpoints delta;
};

class BatchEncoder {
 public:
  explicit BatchEncoder(int zstd_level) : compressor_(zstd_level) {}

  Result<SealedBatch> Encode(FilledBatch filled);

 private:
  ZstdCompressor compressor_;
};

}  // namespace logship::agent
