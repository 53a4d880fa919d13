#include "agent/batcher/batcher.h"

namespace logship::agent {

Batcher::Batcher(const BatchConfig& config, int zstd_level, std::string agent_id, std::string host)
    : config_(config), agent_id_(std::move(agent_id)), host_(std::move(host)), compressor_(zstd_level) {}

bool Batcher::Add(const LineRecord& r) {
  auto [it, inserted] = source_index_.try_emplace(r.source_id, static_cast<uint32_t>(batch_.sources_size()));
  if (inserted) {
    auto* src = batch_.add_sources();
    src->set_name(r.source_name.data(), r.source_name.size());
    if (r.attributes != nullptr) {
      for (const auto& [k, v] : *r.attributes) {
        auto* kv = src->add_attributes();
        kv->set_key(k);
        kv->set_value(v);
      }
    }
    approx_bytes_ += r.source_name.size() + 16;
  }
  auto* rec = batch_.add_records();
  rec->set_id(r.id.bytes.data(), r.id.bytes.size());
  rec->set_observed_time_unix_nano(static_cast<uint64_t>(r.observed_unix_nano));
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
  rec->set_source_index(it->second);
  if (r.flags != 0) rec->set_flags(r.flags);
  approx_bytes_ += r.body.size() + 32;

  if (r.position == LineRecord::Position::kJournal) {
    auto c = cursors_.find(r.journal_key);
    if (c == cursors_.end()) c = cursors_.emplace(std::string(r.journal_key), std::string()).first;
    c->second.assign(r.journal_cursor);
    return batch_.records_size() >= static_cast<int>(config_.max_records) || approx_bytes_ >= config_.max_bytes;
  }
  const auto& p = r.next_position;
  auto& cp = positions_[{p.device, p.inode}];
  if (cp.path().size() != r.source_name.size() || cp.path() != r.source_name) cp.set_path(std::string(r.source_name));
  cp.set_device(p.device);
  cp.set_inode(p.inode);
  cp.set_fingerprint(p.fingerprint);
  cp.set_offset(p.offset);

  return batch_.records_size() >= static_cast<int>(config_.max_records) || approx_bytes_ >= config_.max_bytes;
}

Result<SealedBatch> Batcher::Seal() {
  SealedBatch out;
  batch_.set_agent_id(agent_id_);
  batch_.set_host(host_);
  serialized_.clear();
  if (!batch_.SerializeToString(&serialized_)) return Status::InvalidArgument("cannot serialize batch");
  Status s = compressor_.Compress(serialized_, &out.payload);
  if (!s.ok()) return s;
  out.record_count = static_cast<uint32_t>(batch_.records_size());
  out.uncompressed_bytes = static_cast<uint32_t>(serialized_.size());
  for (auto& [key, cp] : positions_) *out.delta.add_files() = std::move(cp);
  for (auto& [key, cursor] : cursors_) {
    auto* j = out.delta.add_journals();
    j->set_key(key);
    j->set_cursor(std::move(cursor));
  }
  out.meta = out.delta.SerializeAsString();
  batch_.Clear();
  source_index_.clear();
  positions_.clear();
  cursors_.clear();
  approx_bytes_ = 0;
  return out;
}

}  // namespace logship::agent
