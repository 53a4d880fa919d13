#include "agent/flow/batcher.h"

#include <algorithm>

namespace logship::agent {

Batcher::Batcher(const BatchConfig& config, std::string agent_id, std::string host)
    : config_(config),
      agent_id_(std::move(agent_id)),
      host_(std::move(host)) {}

uint32_t Batcher::SourceIndex(const LineRecord& r) {
  const auto add_source = [&](const FilePosition* file) {
    auto* src = batch_.add_sources();
    src->set_name(r.source_name.data(), r.source_name.size());
    if (r.attributes != nullptr) {
      for (const auto& [k, v] : *r.attributes) {
        auto* kv = src->add_attributes();
        kv->set_key(k);
        kv->set_value(v);
      }
    }
    if (file != nullptr) {
      auto* f = src->mutable_file();
      f->set_device(file->device);
      f->set_inode(file->inode);
      f->set_fingerprint(file->fingerprint);
      if (file->generation != 0) f->set_generation(file->generation);
    }
    approx_bytes_ += r.source_name.size() + 40;
    return static_cast<uint32_t>(batch_.sources_size() - 1);
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
  const uint32_t source = SourceIndex(r);
  auto* rec = batch_.add_records();
  if (r.has_id) {
    rec->set_id(r.id.bytes.data(), r.id.bytes.size());
  } else {
    // No id on the wire: the collector derives it from the source's file identity and this
    // offset, sent as a difference from where the previous line ended (usually 0: absent).
    rec->set_offset_delta(static_cast<int64_t>(r.start_position.offset - last_stream_->next_offset));
    last_stream_->next_offset = r.start_position.offset + r.body.size() + 1;
  }
  if (static_cast<uint64_t>(r.observed_unix_nano) != last_observed_) {
    rec->set_observed_time_unix_nano(static_cast<uint64_t>(r.observed_unix_nano));
    last_observed_ = static_cast<uint64_t>(r.observed_unix_nano);
  }
  if (r.time_unix_nano != 0) rec->set_time_unix_nano(static_cast<uint64_t>(r.time_unix_nano));
  if (r.severity != 0) rec->set_severity(r.severity);
  if (r.record_attributes != nullptr) {
    for (const auto& a : *r.record_attributes) {
      auto* kv = rec->add_attributes();
      kv->set_key(a.key.data(), a.key.size());
      kv->set_value(a.value.data(), a.value.size());
      approx_bytes_ += a.key.size() + a.value.size() + 4;
    }
  }
  rec->set_body(r.body.data(), r.body.size());
  rec->set_source_index(source);
  if (r.flags != 0) rec->set_flags(r.flags);
  approx_bytes_ += r.body.size() + 32;

  if (r.positions != nullptr) {
    r.positions->Advance(r);
    Touch(r.positions);
  }
  return batch_.records_size() >= static_cast<int>(config_.max_records) || approx_bytes_ >= config_.max_bytes;
}

void Batcher::Touch(PositionTracker* tracker) {
  // A handful of sources at most: a linear scan beats a set (and runs of one source hit the
  // last entry).
  if (!touched_.empty() && touched_.back() == tracker) return;
  if (std::find(touched_.begin(), touched_.end(), tracker) == touched_.end()) touched_.push_back(tracker);
}

Result<FilledBatch> Batcher::Take() {
  FilledBatch out;
  batch_.set_agent_id(agent_id_);
  batch_.set_host(host_);
  if (batch_.records_size() > 0) {
    const size_t n = batch_.ByteSizeLong();
    if (n > static_cast<size_t>(INT32_MAX)) return Status::InvalidArgument("batch too large to serialize");
    out.batch = SerializedBatch{std::make_unique_for_overwrite<char[]>(n), n};
    batch_.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(out.batch.data.get()));
  }
  out.record_count = static_cast<uint32_t>(batch_.records_size());
  // Where each source stands now is where it stands once this batch is spooled: what it
  // emits later goes into later batches. Deltas of one type concatenate (protobuf merge).
  auto& states = *out.delta.mutable_states();
  for (PositionTracker* t : touched_) {
    std::string delta;
    t->TakeDelta(&delta);
    if (!delta.empty()) states[std::string(t->type())].append(delta);
  }
  batch_.Clear();
  source_index_.clear();
  streams_.clear();
  last_stream_ = nullptr;
  last_observed_ = 0;
  touched_.clear();
  approx_bytes_ = 0;
  return out;
}

}  // namespace logship::agent
