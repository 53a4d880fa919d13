#include "agent/flow/batch_encoder.h"

namespace logship::agent {

Result<SealedBatch> BatchEncoder::Encode(FilledBatch filled) {
  SealedBatch out;
  if (Status s = compressor_.Compress(filled.batch.view(), &out.payload); !s.ok()) return s;
  out.record_count = filled.record_count;
  out.uncompressed_bytes = static_cast<uint32_t>(filled.batch.size);
  out.meta = filled.delta.SerializeAsString();
  out.delta = std::move(filled.delta);
  return out;
}

}  // namespace logship::agent
