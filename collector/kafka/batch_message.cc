#include "collector/kafka/batch_message.h"

#include <zstd.h>

namespace logship::collector {
namespace {

// Serializes `batch` with agent_id replaced: a field repeated later in the encoding wins
// (protobuf), so appending it costs no copy of the batch.
std::string Serialize(const logship::v1::Batch& batch, const std::string& agent_id) {
  std::string out = batch.SerializeAsString();
  out.push_back(static_cast<char>((logship::v1::Batch::kAgentIdFieldNumber << 3) | 2));
  for (uint64_t n = agent_id.size(); ; n >>= 7) {
    if (n < 0x80) {
      out.push_back(static_cast<char>(n));
      break;
    }
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
  }
  out.append(agent_id);
  return out;
}

Status EncodeRange(const DecodedBatch& b, int lo, int hi, size_t max_bytes, ZstdCompressor& zstd,
                   std::vector<std::string>* out) {
  logship::v1::Batch part;
  const logship::v1::Batch* whole = b.batch;
  if (lo != 0 || hi != whole->records_size()) {
    part.set_host(whole->host());
    *part.mutable_sources() = whole->sources();
    for (int i = lo; i < hi; ++i) *part.add_records() = whole->records(i);
    whole = &part;
  }
  std::string value;
  if (Status s = zstd.Compress(Serialize(*whole, b.agent_id), &value); !s.ok()) return s;
  if (value.size() <= max_bytes || hi - lo <= 1) {
    out->push_back(std::move(value));
    return Status::Ok();
  }
  const int mid = lo + (hi - lo) / 2;
  if (Status s = EncodeRange(b, lo, mid, max_bytes, zstd, out); !s.ok()) return s;
  return EncodeRange(b, mid, hi, max_bytes, zstd, out);
}

}  // namespace

Status EncodeBatchValues(const DecodedBatch& batch, size_t max_bytes, ZstdCompressor& zstd,
                         std::vector<std::string>* out) {
  out->clear();
  return EncodeRange(batch, 0, batch.batch->records_size(), max_bytes, zstd, out);
}

Status DecodeBatchValue(std::string_view value, ZstdDecompressor& zstd, DecodedBatch* out) {
  const unsigned long long size = ZSTD_getFrameContentSize(value.data(), value.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN)
    return Status::Corruption("not a zstd frame with its content size");
  if (size > kKafkaMaxDecodedBytes) return Status::ResourceExhausted("decodes to more than 256 MiB");
  std::string plain;
  if (Status s = zstd.Decompress(value, static_cast<size_t>(size), kKafkaMaxDecodedBytes, &plain); !s.ok()) return s;
  if (!out->batch->ParseFromString(plain)) return Status::Corruption("not a logship.v1.Batch");
  for (const auto& r : out->batch->records())
    if (r.id().size() != 16) return Status::Corruption("a record without its 16-byte id");
  for (const auto& r : out->batch->records())
    if (r.source_index() >= static_cast<uint32_t>(out->batch->sources_size()))
      return Status::Corruption("a record's source_index is out of range");
  out->agent_id = out->batch->agent_id();
  return Status::Ok();
}

}  // namespace logship::collector
