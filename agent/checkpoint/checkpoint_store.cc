#include "agent/checkpoint/checkpoint_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "common/clock.h"
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
  // A file from before this field existed: the data_dir was used, so `start_at` is over;
  // count journal sources without a cursor from now on (the upgrade) rather than from the
  // journal's oldest entry.
  initialized_unix_nano_ = all.initialized_unix_nano() != 0 ? all.initialized_unix_nano() : UnixNanosNow();
  for (const auto& f : all.files()) files_[{f.source(), f.device(), f.inode()}] = f;  // adoption waits for SetActiveSources
  for (const auto& j : all.journals()) journals_[j.key()] = j.cursor();
  SetActiveSources(std::move(active_));  // recounts the orphans
  EnsureReserve(std::max(kMinReserve, 2 * text->size()));
  return Status::Ok();
}

void CheckpointStore::Apply(const v1::Checkpoints& delta) {
  for (const auto& f : delta.files()) {
    if (orphans_ > 0) {
      orphans_ -= std::erase_if(files_, [&](const auto& e) {
        const auto& [owner, device, inode] = e.first;
        return device == f.device() && inode == f.inode() && owner != f.source() && Orphan(owner);
      });
    }
    auto [it, inserted] = files_.insert_or_assign({f.source(), f.device(), f.inode()}, f);
    if (inserted && Orphan(f.source())) ++orphans_;
  }
  for (const auto& j : delta.journals()) journals_[j.key()] = j.cursor();
}

const std::string* CheckpointStore::FindJournal(const std::string& key) const {
  auto it = journals_.find(key);
  return it == journals_.end() ? nullptr : &it->second;
}

void CheckpointStore::SetActiveSources(std::set<std::string> keys) {
  active_ = std::move(keys);
  orphans_ = 0;
  for (const auto& [key, f] : files_) orphans_ += Orphan(std::get<0>(key)) ? 1 : 0;
}

Status CheckpointStore::Save(uint64_t spool_sequence, bool sync) {
  const int64_t expired = UnixNanosNow() - std::chrono::nanoseconds(kTombstoneLifetime).count();
  std::erase_if(files_, [&](const auto& e) {
    const int64_t released = e.second.released_unix_nano();
    const bool drop = released != 0 && released < expired;
    if (drop && Orphan(std::get<0>(e.first))) --orphans_;
    return drop;
  });
  v1::Checkpoints all;
  all.set_spool_sequence(spool_sequence);
  all.set_initialized_unix_nano(initialized_unix_nano_);
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

const v1::FileCheckpoint* CheckpointStore::FindFile(const std::string& source, uint64_t device,
                                                    uint64_t inode) const {
  if (auto it = files_.find({source, device, inode}); it != files_.end()) return &it->second;
  for (const auto& [key, f] : files_) {
    const auto& [owner, d, i] = key;
    if (d == device && i == inode && Orphan(owner)) return &f;
  }
  return nullptr;
}

void CheckpointStore::ForEachFile(const std::string& source,
                                  const std::function<void(const v1::FileCheckpoint&)>& fn) const {
  for (const auto& [key, f] : files_) {
    const std::string& owner = std::get<0>(key);
    if ((owner == source || Orphan(owner)) && f.released_unix_nano() == 0) fn(f);
  }
}

}  // namespace logship::agent
