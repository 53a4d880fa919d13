#include "agent/flow/batcher.h"

#include <algorithm>

namespace logship::agent {

Batcher::Batcher(const BatchConfig& config, std::string agent_id, std::string host)
    : config_(config), writer_(std::move(agent_id), std::move(host)) {}

uint32_t Batcher::SourceIndex(const LineRecord& r) {
  const auto add_source = [&](const FilePosition* file) {
    approx_bytes_ += r.source_name.size() + 40;
    return writer_.AddSource(r.source_name, r.attributes, file);
  };
  if (r.has_id) {
    auto [it, inserted] = source_index_.try_emplace(r.source_id, 0);
    if (inserted) it->second = add_source(nullptr);
    return it->second;
  }
  const StreamKey key{r.source_id, r.start_position.device, r.start_position.inode, r.start_position.fingerprint,
                    r.start_position.generation};
  if (last_stream_ == nullptr || key != last_key_) {
    auto [it, inserted] = streams_.try_emplace(key);
    if (inserted) it->second.index = add_source(&r.start_position);
    last_key_ = key;
    last_stream_ = &it->second;
  }
  return last_stream_->index;
}

bool Batcher::Add(const LineRecord& r) {
  WireRecord rec;
  rec.source_index = SourceIndex(r);
  if (r.has_id) {
    rec.id = std::string_view(reinterpret_cast<const char*>(r.id.bytes.data()), r.id.bytes.size());
  } else {
    // No id on the wire: the collector derives it from the source's file identity and this
    // offset, sent as a difference from where the previous line ended (usually 0: absent).
    rec.offset_delta = static_cast<int64_t>(r.start_position.offset - last_stream_->next_offset);
    last_stream_->next_offset = r.start_position.offset + r.body.size() + 1;
  }
  if (static_cast<uint64_t>(r.observed_unix_nano) != last_observed_) {
    rec.observed_time_unix_nano = static_cast<uint64_t>(r.observed_unix_nano);
    last_observed_ = static_cast<uint64_t>(r.observed_unix_nano);
  }
  rec.time_unix_nano = static_cast<uint64_t>(r.time_unix_nano);
  rec.severity = r.severity;
  rec.attributes = r.record_attributes;
  if (r.record_attributes != nullptr)
    for (const auto& a : *r.record_attributes) approx_bytes_ += a.key.size() + a.value.size() + 4;
  rec.body = r.body;
  rec.flags = r.flags;
  writer_.AddRecord(rec);
  approx_bytes_ += r.body.size() + 32;

  if (r.positions != nullptr) {
    r.positions->Advance(r);
    Touch(r.positions);
  }
  return writer_.records() >= config_.max_records || approx_bytes_ >= config_.max_bytes;
}

void Batcher::Touch(PositionTracker* tracker) {
  // A handful of sources at most: a linear scan beats a set (and runs of one source hit the
  // last entry).
  if (!touched_.empty() && touched_.back() == tracker) return;
  if (std::find(touched_.begin(), touched_.end(), tracker) == touched_.end()) touched_.push_back(tracker);
}

Result<FilledBatch> Batcher::Take() {
  FilledBatch out;
  out.record_count = writer_.records();
  out.batch = writer_.Finish();
  if (out.batch.size > static_cast<size_t>(INT32_MAX)) return Status::InvalidArgument("batch too large to parse");
  // Where each source stands now is where it stands once this batch is spooled: what it
  // emits later goes into later batches. Deltas of one type concatenate (protobuf merge).
  auto& states = *out.delta.mutable_states();
  for (PositionTracker* t : touched_) {
    std::string delta;
    t->TakeDelta(&delta);
    if (!delta.empty()) states[std::string(t->type())].append(delta);
  }
  source_index_.clear();
  streams_.clear();
  last_stream_ = nullptr;
  last_observed_ = 0;
  touched_.clear();
  approx_bytes_ = 0;
  return out;
}

}  // namespace logship::agent
