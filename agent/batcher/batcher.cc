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
  rec->set_body(r.body.data(), r.body.size());
  rec->set_source_index(it->second);
  if (r.flags != 0) rec->set_flags(r.flags);
  approx_bytes_ += r.body.size() + 32;

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
  out.meta = out.delta.SerializeAsString();
  batch_.Clear();
  source_index_.clear();
  positions_.clear();
  approx_bytes_ = 0;
  return out;
}

}  // namespace logship::agent
