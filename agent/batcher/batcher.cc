#include "agent/batcher/batcher.h"

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
  if (r.position == LineRecord::Position::kJournal) {
    auto [it, inserted] = source_index_.try_emplace(r.source_id, 0);
    if (inserted) it->second = add_source(nullptr);
    return it->second;
  }
  const FileKey key{r.source_id, r.start_position.device, r.start_position.inode, r.start_position.fingerprint,
                    r.start_position.generation};
  if (last_file_ == nullptr || key != last_key_) {
    auto [it, inserted] = file_sources_.try_emplace(key);
    if (inserted) it->second.index = add_source(&r.start_position);
    last_key_ = key;
    last_file_ = &it->second;
  }
  return last_file_->index;
}

bool Batcher::Add(const LineRecord& r) {
  const uint32_t source = SourceIndex(r);
  auto* rec = batch_.add_records();
  if (r.position == LineRecord::Position::kJournal) {
    rec->set_id(r.id.bytes.data(), r.id.bytes.size());
  } else {
    // No id on the wire: the collector derives it from the source's file identity and this
    // offset, sent as a difference from where the previous line ended (usually 0: absent).
    rec->set_offset_delta(static_cast<int64_t>(r.start_position.offset - last_file_->next_offset));
    last_file_->next_offset = r.start_position.offset + r.body.size() + 1;
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

  if (r.position == LineRecord::Position::kJournal) {
    auto c = cursors_.find(r.journal_key);
    if (c == cursors_.end()) c = cursors_.emplace(std::string(r.journal_key), std::string()).first;
    c->second.assign(r.journal_cursor);
    return batch_.records_size() >= static_cast<int>(config_.max_records) || approx_bytes_ >= config_.max_bytes;
  }
  const auto& p = r.next_position;
  auto it = positions_.find(std::make_tuple(r.file_source, p.device, p.inode));
  if (it == positions_.end())
    it = positions_.emplace(std::make_tuple(std::string(r.file_source), p.device, p.inode), v1::FileCheckpoint()).first;
  auto& cp = it->second;
  if (cp.path().size() != r.source_name.size() || cp.path() != r.source_name) cp.set_path(std::string(r.source_name));
  if (cp.source().size() != r.file_source.size()) cp.set_source(std::string(r.file_source));
  cp.set_device(p.device);
  cp.set_inode(p.inode);
  cp.set_fingerprint(p.fingerprint);
  cp.set_generation(p.generation);
  cp.set_offset(p.offset);
  cp.set_released_unix_nano(0);
  // The bytes just before the new offset (the record's last bytes, and its newline): a
  // restart checks the file still holds them there.
  const bool terminated = p.offset == r.start_position.offset + r.body.size() + 1;
  const size_t keep = std::min(r.body.size(), size_t{32} - (terminated ? 1 : 0));
  std::string* tail = cp.mutable_tail();
  tail->assign(r.body.substr(r.body.size() - keep));
  if (terminated) tail->push_back('\n');

  return batch_.records_size() >= static_cast<int>(config_.max_records) || approx_bytes_ >= config_.max_bytes;
}

void Batcher::AddPositions(const v1::Checkpoints& delta) {
  for (const auto& f : delta.files()) positions_[std::make_tuple(f.source(), f.device(), f.inode())] = f;
  for (const auto& j : delta.journals()) cursors_[j.key()] = j.cursor();
}

Result<FilledBatch> Batcher::Take() {
  FilledBatch out;
  batch_.set_agent_id(agent_id_);
  batch_.set_host(host_);
  if (batch_.records_size() > 0 && !batch_.SerializeToString(&out.batch))
    return Status::InvalidArgument("cannot serialize batch");
  out.record_count = static_cast<uint32_t>(batch_.records_size());
  for (auto& [key, cp] : positions_) *out.delta.add_files() = std::move(cp);
  for (auto& [key, cursor] : cursors_) {
    auto* j = out.delta.add_journals();
    j->set_key(key);
    j->set_cursor(std::move(cursor));
  }
  batch_.Clear();
  source_index_.clear();
  file_sources_.clear();
  last_file_ = nullptr;
  last_observed_ = 0;
  positions_.clear();
  cursors_.clear();
  approx_bytes_ = 0;
  return out;
}

}  // namespace logship::agent
