#include "collector/server/frame_decoder.h"

#include "collector/server/record_identity.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

namespace logship::collector {
namespace {

using google::protobuf::io::CodedInputStream;
using google::protobuf::internal::WireFormatLite;

// Rough heap cost of one parsed KeyValue or Source (a LogRecord is ~100 bytes, measured), used
// to refuse a batch before protobuf allocates it.
constexpr uint64_t kElementCost = 64;

bool IsMessageField(uint32_t tag, int field) {
  return WireFormatLite::GetTagFieldNumber(tag) == field &&
         WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED;
}

// Counts the repeated message fields of a serialized Batch straight from its wire bytes
// (Batch.records = 4, Batch.sources = 3, LogRecord.attributes = 7, Source.attributes = 2), so
// that a few KiB of zstd holding millions of 2-byte empty records or attributes is refused
// before parsing: protobuf would allocate an object for each (60 MiB of empty records became
// 3 GiB of heap).
Status CheckShape(std::string_view bytes, const logship::v1::BatchFrame& f, const Limits& limits) {
  const Status malformed = Status::InvalidArgument("payload is not a valid logship.v1.Batch");
  CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()), static_cast<int>(bytes.size()));
  uint64_t records = 0, sources = 0, attributes = 0;
  // Walks one embedded message of `length` bytes (its prefix read), counting its attributes.
  const auto walk = [&](uint32_t length, int attribute_field, const char* what) -> Status {
    if (length > static_cast<uint32_t>(INT32_MAX)) return malformed;
    const auto limit = in.PushLimit(static_cast<int>(length));
    uint64_t own = 0;
    while (const uint32_t tag = in.ReadTag()) {
      if (IsMessageField(tag, attribute_field) && ++own > limits.max_attributes)
        return Status::ResourceExhausted(std::string("a ") + what + " has more than max_attributes (" +
                                         std::to_string(limits.max_attributes) + ") attributes");
      if (!WireFormatLite::SkipField(&in, tag)) return malformed;
    }
    if (!in.ConsumedEntireMessage()) return malformed;
    in.PopLimit(limit);
    attributes += own;
    return Status::Ok();
  };
  // An attribute takes at least 2 bytes on the wire (tag, length). When the whole batch could
  // not reach the object bound below even if it were all attributes, a record too short to
  // hold more than max_attributes is skipped, not walked (ParseFromArray checks its fields
  // all the same): walking every record was 8% of the collector's decoding.
  const bool small_batch = bytes.size() / 2 * kElementCost <= 2 * limits.max_uncompressed_bytes;
  while (const uint32_t tag = in.ReadTag()) {
    uint32_t length = 0;
    if (IsMessageField(tag, 4)) {
      if (++records > f.record_count())
        return Status::InvalidArgument("batch holds more records than the " + std::to_string(f.record_count()) +
                                       " the frame declared");
      if (!in.ReadVarint32(&length)) return malformed;
      if (small_batch && length / 2 <= limits.max_attributes) {
        if (!in.Skip(static_cast<int>(length))) return malformed;
      } else if (Status s = walk(length, 7, "record"); !s.ok()) {
        return s;
      }
    } else if (IsMessageField(tag, 3)) {
      ++sources;
      if (!in.ReadVarint32(&length)) return malformed;
      if (Status s = walk(length, 2, "source"); !s.ok()) return s;
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return malformed;
    }
  }
  if (!in.ConsumedEntireMessage()) return malformed;
  // Records are bounded by record_count <= max_records; attributes (up to max_attributes per
  // record) need a bound of their own: their objects may take at most 2 x max_uncompressed_bytes,
  // in line with what the in-flight budget charges for a batch.
  const uint64_t objects = (sources + attributes) * kElementCost;
  if (objects > 2 * limits.max_uncompressed_bytes)
    return Status::ResourceExhausted("batch holds " + std::to_string(sources) + " sources and " +
                                     std::to_string(attributes) + " attributes; decoding them would take about " +
                                     std::to_string(objects >> 20) + " MiB, over 2 x max_uncompressed_bytes");
  return Status::Ok();
}

}  // namespace

namespace {

// What the frame says about itself, before a byte of its payload is looked at.
Status CheckFrameHeader(const logship::v1::BatchFrame& f, const Limits& limits) {
  if (f.agent_id().empty()) return Status::InvalidArgument("frame has no agent_id");
  if (f.agent_id().size() > kMaxAgentIdBytes)
    return Status::InvalidArgument("agent_id longer than " + std::to_string(kMaxAgentIdBytes) + " bytes");
  if (f.sequence() == 0) return Status::InvalidArgument("frame has no sequence");
  if (f.payload().size() > limits.max_frame_bytes)
    return Status::ResourceExhausted("payload of " + std::to_string(f.payload().size()) + " bytes exceeds max_frame_bytes");
  if (f.uncompressed_bytes() > limits.max_uncompressed_bytes)
    return Status::ResourceExhausted("declared uncompressed size " + std::to_string(f.uncompressed_bytes()) +
                                     " exceeds max_uncompressed_bytes");
  if (f.record_count() > limits.max_records)
    return Status::ResourceExhausted("record_count " + std::to_string(f.record_count()) + " exceeds max_records");
  return Status::Ok();
}

}  // namespace

Status FrameDecoder::Decode(const logship::v1::BatchFrame& f, logship::v1::Batch* out,
                            std::vector<RefusedRecord>* refused, std::string_view principal, bool derive_ids) {
  if (Status s = CheckFrameHeader(f, limits_); !s.ok()) return s;

  std::string_view serialized;
  std::unique_ptr<char[]> decompressed;  // freed on return: nothing stays allocated between frames
  switch (f.codec()) {
    case logship::v1::CODEC_ZSTD: {
      // One zstd context per thread, not per stream: a context is 94 KiB and a collector
      // holds thousands of streams, each needing it only while one of its frames decodes.
      static thread_local ZstdDecompressor zstd;
      Status s = zstd.Decompress(f.payload(), f.uncompressed_bytes(), limits_.max_uncompressed_bytes, &decompressed);
      if (!s.ok()) return s;
      serialized = std::string_view(decompressed.get(), f.uncompressed_bytes());
      break;
    }
    case logship::v1::CODEC_NONE:
      if (f.payload().size() != f.uncompressed_bytes())
        return Status::InvalidArgument("uncompressed payload size differs from uncompressed_bytes");
      serialized = f.payload();
      break;
    default:
      return Status::InvalidArgument("unknown codec " + std::to_string(static_cast<int>(f.codec())));
  }
  if (Status s = CheckShape(serialized, f, limits_); !s.ok()) return s;
  out->Clear();
  const bool parsed = out->ParseFromArray(serialized.data(), static_cast<int>(serialized.size()));
  decompressed.reset();
  if (!parsed) return Status::InvalidArgument("payload is not a valid logship.v1.Batch");
  if (static_cast<uint64_t>(out->records_size()) != f.record_count())
    return Status::InvalidArgument("batch holds " + std::to_string(out->records_size()) + " records, frame declared " +
                                   std::to_string(f.record_count()));
  if (out->agent_id().empty() || out->agent_id().size() > kMaxAgentIdBytes)
    return Status::InvalidArgument("batch agent_id is empty or longer than " + std::to_string(kMaxAgentIdBytes) + " bytes");
  const auto sources = static_cast<uint32_t>(out->sources_size());
  const auto check_attributes = [&](const auto& attrs) -> Status {
    if (static_cast<uint64_t>(attrs.size()) > limits_.max_attributes)
      return Status::ResourceExhausted(std::to_string(attrs.size()) + " attributes exceed max_attributes");
    for (const auto& kv : attrs) {
      if (kv.key().size() + kv.value().size() > limits_.max_attribute_bytes)
        return Status::ResourceExhausted("an attribute of " + std::to_string(kv.key().size() + kv.value().size()) +
                                         " bytes exceeds max_attribute_bytes (" +
                                         std::to_string(limits_.max_attribute_bytes) + ")");
    }
    return Status::Ok();
  };
  for (const auto& s : out->sources()) {
    if (Status st = check_attributes(s.attributes()); !st.ok()) return st;
  }
  std::vector<std::pair<int, std::string>> over;  // records over a per-record limit
  for (int i = 0; i < out->records_size(); ++i) {
    const auto& r = out->records(i);
    if (r.source_index() >= sources) return Status::InvalidArgument("record refers to a missing source");
    if (Status st = check_attributes(r.attributes()); !st.ok()) {
      if (refused == nullptr) return st;
      over.emplace_back(i, st.message());
    }
  }
  if (Status s = ResolveRecordIdentity(out, principal, derive_ids || !over.empty()); !s.ok()) return s;
  if (over.empty()) return Status::Ok();
  // Move them out (after identity: their ids and observed times are known), keeping order.
  auto* records = out->mutable_records();
  size_t next = 0;
  int keep = 0;
  for (int i = 0; i < records->size(); ++i) {
    if (next < over.size() && over[next].first == i) {
      refused->push_back(RefusedRecord{std::move(*records->Mutable(i)), std::move(over[next].second)});
      ++next;
      continue;
    }
    if (keep != i) records->SwapElements(keep, i);
    ++keep;
  }
  records->DeleteSubrange(keep, records->size() - keep);
  return Status::Ok();
}

}  // namespace logship::collector
