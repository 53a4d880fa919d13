#include "agent/shipper/frame_splitter.h"

#include <algorithm>

namespace logship::agent {
namespace {

// Room left in a frame for BatchFrame's own fields next to the payload.
constexpr uint64_t kFrameOverhead = 1024;

uint64_t PayloadBudget(const WireLimits& l) {
  return l.max_frame_bytes == 0 ? UINT64_MAX : (l.max_frame_bytes > kFrameOverhead ? l.max_frame_bytes - kFrameOverhead : 1);
}

}  // namespace

bool FrameSplitter::Fits(const spool::SpooledFrame& f, const WireLimits& l) {
  return f.payload.size() <= PayloadBudget(l) &&
         (l.max_uncompressed_bytes == 0 || f.uncompressed_bytes <= l.max_uncompressed_bytes) &&
         (l.max_records == 0 || f.record_count <= l.max_records);
}

std::vector<ResolvedRecord> ResolveOffsets(const logship::v1::Batch& batch) {
  std::vector<ResolvedRecord> out(static_cast<size_t>(batch.records_size()));
  std::vector<uint64_t> next(static_cast<size_t>(batch.sources_size()), 0);
  uint64_t observed = 0;
  for (int i = 0; i < batch.records_size(); ++i) {
    const auto& r = batch.records(i);
    if (r.observed_time_unix_nano() != 0) observed = r.observed_time_unix_nano();
    out[static_cast<size_t>(i)].observed = observed;
    if (!r.id().empty() || r.source_index() >= next.size()) continue;
    uint64_t& n = next[r.source_index()];
    const uint64_t offset = n + static_cast<uint64_t>(r.offset_delta());
    out[static_cast<size_t>(i)].offset = offset;
    n = offset + r.body().size() + 1;
  }
  return out;
}

logship::v1::Batch Slice(const logship::v1::Batch& batch, const std::vector<ResolvedRecord>& resolved, int begin,
                         int end) {
  logship::v1::Batch part;
  part.set_agent_id(batch.agent_id());
  part.set_host(batch.host());
  *part.mutable_sources() = batch.sources();
  std::vector<uint64_t> next(static_cast<size_t>(batch.sources_size()), 0);
  uint64_t observed = 0;
  for (int i = begin; i < end; ++i) {
    auto* r = part.add_records();
    *r = batch.records(i);
    const ResolvedRecord& res = resolved[static_cast<size_t>(i)];
    r->set_observed_time_unix_nano(res.observed != observed ? res.observed : 0);
    observed = res.observed;
    if (!r->id().empty() || r->source_index() >= next.size()) continue;
    uint64_t& n = next[r->source_index()];
    r->set_offset_delta(static_cast<int64_t>(res.offset - n));
    n = res.offset + r->body().size() + 1;
  }
  return part;
}

void FrameSplitter::Emit(const logship::v1::Batch& batch, const WireLimits& limits, SplitFrame* out) {
  const std::string raw = batch.SerializeAsString();
  WirePart part;
  part.record_count = static_cast<uint32_t>(batch.records_size());
  part.uncompressed_bytes = raw.size();
  const bool too_many = limits.max_records != 0 && part.record_count > limits.max_records;
  const bool too_big = limits.max_uncompressed_bytes != 0 && raw.size() > limits.max_uncompressed_bytes;
  if (!too_many && !too_big && compressor_.Compress(raw, &part.payload).ok() &&
      part.payload.size() <= PayloadBudget(limits)) {
    out->parts.push_back(std::move(part));
    return;
  }
  if (batch.records_size() <= 1) {
    out->unfit.push_back(raw);
    return;
  }
  const auto resolved = ResolveOffsets(batch);
  const int half = batch.records_size() / 2;
  Emit(Slice(batch, resolved, 0, half), limits, out);
  Emit(Slice(batch, resolved, half, batch.records_size()), limits, out);
}

Result<SplitFrame> FrameSplitter::Split(const spool::SpooledFrame& frame, const WireLimits& limits) {
  std::string raw;
  if (Status s = decompressor_.Decompress(frame.payload, frame.uncompressed_bytes, frame.uncompressed_bytes, &raw);
      !s.ok())
    return Status::Corruption("spooled frame " + std::to_string(frame.sequence) + " cannot be decompressed: " +
                              s.message());
  logship::v1::Batch batch;
  if (!batch.ParseFromString(raw)) return Status::Corruption("spooled frame " + std::to_string(frame.sequence) +
                                                             " is not a valid batch");
  SplitFrame out;
  // First cut by size and count (cheap), then halve any part that still does not fit.
  const auto resolved = ResolveOffsets(batch);
  const uint64_t budget = std::min(PayloadBudget(limits), limits.max_uncompressed_bytes == 0
                                                               ? UINT64_MAX
                                                               : limits.max_uncompressed_bytes);
  const uint64_t per_part = budget == UINT64_MAX ? UINT64_MAX : budget * 9 / 10;
  const uint64_t max_records = limits.max_records == 0 ? UINT64_MAX : limits.max_records;
  int begin = 0;
  uint64_t bytes = 0;
  for (int i = 0; i < batch.records_size(); ++i) {
    const uint64_t size = batch.records(i).ByteSizeLong() + 8;
    if (i > begin && (bytes + size > per_part || static_cast<uint64_t>(i - begin) >= max_records)) {
      Emit(Slice(batch, resolved, begin, i), limits, &out);
      begin = i;
      bytes = 0;
    }
    bytes += size;
  }
  if (begin < batch.records_size()) Emit(Slice(batch, resolved, begin, batch.records_size()), limits, &out);
  return out;
}

}  // namespace logship::agent
