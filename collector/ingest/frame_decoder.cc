#include "collector/ingest/frame_decoder.h"

namespace logship::collector {

Status FrameDecoder::Decode(const logship::v1::BatchFrame& f, logship::v1::Batch* out) {
  if (f.agent_id().empty()) return Status::InvalidArgument("frame has no agent_id");
  if (f.sequence() == 0) return Status::InvalidArgument("frame has no sequence");
  if (f.payload().size() > limits_.max_frame_bytes)
    return Status::ResourceExhausted("payload of " + std::to_string(f.payload().size()) + " bytes exceeds max_frame_bytes");
  if (f.uncompressed_bytes() > limits_.max_uncompressed_bytes)
    return Status::ResourceExhausted("declared uncompressed size " + std::to_string(f.uncompressed_bytes()) +
                                     " exceeds max_uncompressed_bytes");
  if (f.record_count() > limits_.max_records)
    return Status::ResourceExhausted("record_count " + std::to_string(f.record_count()) + " exceeds max_records");

  std::string_view serialized;
  switch (f.codec()) {
    case logship::v1::CODEC_ZSTD: {
      Status s = zstd_.Decompress(f.payload(), f.uncompressed_bytes(), limits_.max_uncompressed_bytes, &buffer_);
      if (!s.ok()) return s;
      serialized = buffer_;
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
  out->Clear();
  const bool parsed = out->ParseFromArray(serialized.data(), static_cast<int>(serialized.size()));
  std::string().swap(buffer_);  // no decompressed batch stays allocated between frames
  if (!parsed) return Status::InvalidArgument("payload is not a valid logship.v1.Batch");
  if (static_cast<uint64_t>(out->records_size()) != f.record_count())
    return Status::InvalidArgument("batch holds " + std::to_string(out->records_size()) + " records, frame declared " +
                                   std::to_string(f.record_count()));
  if (out->agent_id() != f.agent_id()) return Status::InvalidArgument("batch agent_id differs from the frame's");
  const auto sources = static_cast<uint32_t>(out->sources_size());
  const auto check_attributes = [&](const auto& attrs) -> Status {
    if (static_cast<uint64_t>(attrs.size()) > limits_.max_attributes)
      return Status::ResourceExhausted(std::to_string(attrs.size()) + " attributes exceed max_attributes");
    for (const auto& kv : attrs) {
      if (kv.key().size() + kv.value().size() > limits_.max_attribute_bytes)
        return Status::ResourceExhausted("an attribute exceeds max_attribute_bytes");
    }
    return Status::Ok();
  };
  for (const auto& s : out->sources()) {
    if (Status st = check_attributes(s.attributes()); !st.ok()) return st;
  }
  for (const auto& r : out->records()) {
    if (r.id().size() != 16) return Status::InvalidArgument("record id must be 16 bytes");
    if (r.source_index() >= sources) return Status::InvalidArgument("record refers to a missing source");
    if (Status st = check_attributes(r.attributes()); !st.ok()) return st;
  }
  return Status::Ok();
}

}  // namespace logship::collector
