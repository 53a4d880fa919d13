#include "agent/sources/file/file_state.h"

#include <algorithm>

#include "agent/sources/file/file_state.pb.h"

namespace logship::agent {

bool FileState::Apply(std::string_view delta) {
  file::v1::FileSourceState parsed;
  if (!parsed.ParseFromArray(delta.data(), static_cast<int>(delta.size()))) return false;
  for (const auto& f : parsed.files()) Merge(f);
  return true;
}

void FileState::Merge(const v1::FileCheckpoint& f) {
  if (orphans_ > 0) {
    orphans_ -= std::erase_if(files_, [&](const auto& e) {
      const auto& [owner, device, inode] = e.first;
      return device == f.device() && inode == f.inode() && owner != f.source() && Orphan(owner);
    });
  }
  auto [it, inserted] = files_.insert_or_assign({f.source(), f.device(), f.inode()}, f);
  if (inserted && Orphan(f.source())) ++orphans_;
}

std::string FileState::Encode() const {
  file::v1::FileSourceState all;
  for (const auto& [key, f] : files_) *all.add_files() = f;
  return all.SerializeAsString();
}

void FileState::Prune(int64_t now_unix_nano) {
  const int64_t expired = now_unix_nano - std::chrono::nanoseconds(kTombstoneLifetime).count();
  std::erase_if(files_, [&](const auto& e) {
    const int64_t released = e.second.released_unix_nano();
    const bool drop = released != 0 && released < expired;
    if (drop && Orphan(std::get<0>(e.first))) --orphans_;
    return drop;
  });
}

void FileState::SetActiveSources(const std::set<std::string>& keys) {
  active_ = keys;
  orphans_ = 0;
  for (const auto& [key, f] : files_) orphans_ += Orphan(std::get<0>(key)) ? 1 : 0;
}

const v1::FileCheckpoint* FileState::Find(const std::string& source, uint64_t device, uint64_t inode) const {
  if (auto it = files_.find({source, device, inode}); it != files_.end()) return &it->second;
  if (orphans_ == 0) return nullptr;
  for (const auto& [key, f] : files_) {
    const auto& [owner, d, i] = key;
    if (d == device && i == inode && Orphan(owner)) return &f;
  }
  return nullptr;
}

void FileState::ForEach(const std::string& source, const std::function<void(const v1::FileCheckpoint&)>& fn) const {
  for (const auto& [key, f] : files_) {
    const std::string& owner = std::get<0>(key);
    if ((owner == source || Orphan(owner)) && f.released_unix_nano() == 0) fn(f);
  }
}

void FileState::Upgrade(const v1::Checkpoints& legacy, std::string* delta) {
  if (legacy.files_size() == 0) return;
  file::v1::FileSourceState state;
  *state.mutable_files() = legacy.files();
  delta->append(state.SerializeAsString());
}

}  // namespace logship::agent
