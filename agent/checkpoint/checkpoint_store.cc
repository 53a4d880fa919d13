#include "agent/checkpoint/checkpoint_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "common/file_util.h"

namespace logship::agent {
namespace {
constexpr size_t kMinReserve = 64 << 10;
}

Status CheckpointStore::Load() {
  auto text = ReadWholeFile(path_);
  if (!text.ok() && text.status().code() == Status::Code::kNotFound) {
    EnsureReserve(kMinReserve);
    return Status::Ok();
  }
  if (!text.ok()) return text.status();
  v1::Checkpoints all;
  if (!all.ParseFromString(*text)) return Status::Corruption("cannot parse checkpoint file " + path_);
  spool_sequence_ = all.spool_sequence();
  Apply(all);
  EnsureReserve(std::max(kMinReserve, 2 * text->size()));
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
  const std::string text = all.SerializeAsString();
  Status s = WriteFileAtomically(path_, text, sync);
  if (!s.ok() && reserve_bytes_ > 0) {
    // Probably a full disk: spend the ballast so this save, and the segment deletions it
    // allows, can go through.
    ::unlink(reserve_path_.c_str());
    reserve_bytes_ = 0;
    s = WriteFileAtomically(path_, text, sync);
  }
  if (!s.ok()) return s;
  spool_sequence_ = spool_sequence;
  EnsureReserve(std::max(kMinReserve, 2 * text.size()));
  return s;
}

void CheckpointStore::EnsureReserve(size_t bytes) {
  if (reserve_bytes_ >= bytes) return;
  UniqueFd fd(::open(reserve_path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0640));
  if (!fd.valid()) return;
  if (::posix_fallocate(fd.get(), 0, static_cast<off_t>(bytes)) == 0) reserve_bytes_ = bytes;
}

const v1::FileCheckpoint* CheckpointStore::FindFile(uint64_t device, uint64_t inode) const {
  auto it = files_.find({device, inode});
  return it == files_.end() ? nullptr : &it->second;
}

}  // namespace logship::agent
