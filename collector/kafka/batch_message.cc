#include "collector/kafka/batch_message.h"

#include <zstd.h>

#include <limits>

#include "logship/v1/kafka.pb.h"

namespace logship::collector {
namespace {

// Appends the tag and length of a length-delimited field `field` of `size` bytes.
void AppendFieldHeader(int field, uint64_t size, std::string* out) {
  out->push_back(static_cast<char>((field << 3) | 2));
  for (uint64_t n = size;; n >>= 7) {
    if (n < 0x80) {
      out->push_back(static_cast<char>(n));
      break;
    }
    out->push_back(static_cast<char>((n & 0x7f) | 0x80));
  }
}

// Serializes `batch` with agent_id replaced: a field repeated later in the encoding wins
// (protobuf), so appending it costs no copy of the batch.
std::string Serialize(const logship::v1::Batch& batch, const std::string& agent_id) {
  std::string out = batch.SerializeAsString();
  AppendFieldHeader(logship::v1::Batch::kAgentIdFieldNumber, agent_id.size(), &out);
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

std::string EncodeForwardedValue(const ReceivedFrame& received) {
  logship::v1::ForwardedFrame envelope;  // all but the frame, which is appended as it is
  envelope.set_principal(received.principal);
  envelope.set_max_past_ns(received.window.max_past_ns);
  envelope.set_max_future_ns(received.window.max_future_ns);
  std::string out = envelope.SerializeAsString();
  const size_t frame_bytes = received.frame.ByteSizeLong();
  out.reserve(out.size() + 11 + frame_bytes);
  AppendFieldHeader(logship::v1::ForwardedFrame::kFrameFieldNumber, frame_bytes, &out);
  received.frame.AppendToString(&out);
  return out;
}

uint64_t ForwardedValueBound(uint64_t frame_bytes, size_t principal_bytes) {
  // Four fields, each a 1-byte tag and at most a 10-byte varint (a length or an int64).
  return frame_bytes + principal_bytes + 4 * 11;
}

Limits ForwardedFrameLimits() {
  Limits l;
  l.max_frame_bytes = kKafkaMaxDecodedBytes;
  l.max_uncompressed_bytes = kKafkaMaxDecodedBytes;
  l.max_records = std::numeric_limits<uint32_t>::max();
  l.max_attributes = std::numeric_limits<uint32_t>::max();
  l.max_attribute_bytes = std::numeric_limits<uint64_t>::max();
  return l;
}

Status DecodeForwardedValue(std::string_view value, FrameDecoder& decoder, DecodedBatch* out,
                            EventTimeWindow* window) {
  logship::v1::ForwardedFrame envelope;
  if (!envelope.ParseFromArray(value.data(), static_cast<int>(value.size())))
    return Status::Corruption("not a logship.v1.ForwardedFrame");
  if (!envelope.has_frame()) return Status::Corruption("a ForwardedFrame without its frame");
  if (envelope.max_past_ns() < 0 || envelope.max_future_ns() < 0)
    return Status::Corruption("a negative event-time window");
  const logship::v1::BatchFrame& f = envelope.frame();
  if (Status s = decoder.Decode(f, out->batch, nullptr, envelope.principal()); !s.ok())
    return Status::Corruption("its frame: " + s.message());
  out->agent_id = f.agent_id();
  out->batch->set_agent_id(f.agent_id());  // as version 1 carries it (the batch may name the agent's old name)
  out->sequence = f.sequence();
  out->part = f.part();
  *window = EventTimeWindow{envelope.max_past_ns(), envelope.max_future_ns()};
  return Status::Ok();
}

}  // namespace logship::collector
