#include "agent/checkpoint/checkpoint_store.h"

#include "common/file_util.h"

namespace logship::agent {

Status CheckpointStore::Load() {
  auto text = ReadWholeFile(path_);
  if (!text.ok()) return text.status().code() == Status::Code::kNotFound ? Status::Ok() : text.status();
  v1::Checkpoints all;
  if (!all.ParseFromString(*text)) return Status::Corruption("cannot parse checkpoint file " + path_);
  spool_sequence_ = all.spool_sequence();
  Apply(all);
  return Status::Ok();
}

void CheckpointStore::Apply(const v1::Checkpoints& delta) {
  for (const auto& f : delta.files()) files_[{f.device(), f.inode()}] = f;
  for (const auto& j : delta.journals()) journals_[j.key()] = j.cursor();
}

const std::string* CheckpointStore::FindJournal(const std::string& key) const {
  auto it = journals_.find(key);
  return it == journals_.end() ? nullptr : &it->second;
}

Status CheckpointStore::Save(uint64_t spool_sequence, bool sync) {
  v1::Checkpoints all;
  all.set_spool_sequence(spool_sequence);
  for (const auto& [key, f] : files_) *all.add_files() = f;
  for (const auto& [key, cursor] : journals_) {
    auto* j = all.add_journals();
    j->set_key(key);
    j->set_cursor(cursor);
  }
  Status s = WriteFileAtomically(path_, all.SerializeAsString(), sync);
  if (s.ok()) spool_sequence_ = spool_sequence;
  return s;
}

const v1::FileCheckpoint* CheckpointStore::FindFile(uint64_t device, uint64_t inode) const {
  auto it = files_.find({device, inode});
  return it == files_.end() ? nullptr : &it->second;
}

}  // namespace logship::agent
