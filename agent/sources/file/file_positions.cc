#include "agent/sources/file/file_positions.h"

#include <algorithm>

#include "agent/sources/file/file_state.h"
#include "agent/sources/file/file_state.pb.h"

namespace logship::agent {

std::string_view FilePositions::type() const { return FileState::kType; }

void FilePositions::Advance(const LineRecord& r) {
  const FilePosition& p = r.next_position;
  const std::pair<uint64_t, uint64_t> key{p.device, p.inode};
  if (last_ == nullptr || key != last_key_) {
    last_ = &moved_[key];  // std::map: stays valid until TakeDelta clears it
    last_key_ = key;
  }
  v1::FileCheckpoint& cp = *last_;
  if (cp.path().size() != r.source_name.size() || cp.path() != r.source_name) cp.set_path(std::string(r.source_name));
  if (cp.source().empty()) cp.set_source(source_key_);
  cp.set_device(p.device);
  cp.set_inode(p.inode);
  cp.set_fingerprint(p.fingerprint);
  cp.set_generation(p.generation);
  cp.set_offset(p.offset);
  cp.set_released_unix_nano(0);
  // The bytes just before the new offset (the record's last bytes, and its newline): a
  // restart checks the file still holds them there.
  if (!r.position_tail.empty()) {
    cp.set_tail(std::string(r.position_tail.substr(r.position_tail.size() - std::min<size_t>(r.position_tail.size(), 32))));
    return;
  }
  const bool terminated = p.offset == r.start_position.offset + r.body.size() + 1;
  const size_t keep = std::min(r.body.size(), size_t{32} - (terminated ? 1 : 0));
  std::string* tail = cp.mutable_tail();
  tail->assign(r.body.substr(r.body.size() - keep));
  if (terminated) tail->push_back('\n');
}

void FilePositions::Set(v1::FileCheckpoint position) {
  position.set_source(source_key_);
  moved_[{position.device(), position.inode()}] = std::move(position);
}

void FilePositions::TakeDelta(std::string* out) {
  if (moved_.empty()) return;
  file::v1::FileSourceState delta;
  for (auto& [key, cp] : moved_) *delta.add_files() = std::move(cp);
  moved_.clear();
  last_ = nullptr;
  out->append(delta.SerializeAsString());
}

}  // namespace logship::agent
