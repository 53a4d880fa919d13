#include "agent/sources/file/file_positions.h"

#include <algorithm>
#include <cstring>

#include "agent/sources/file/file_state.h"
#include "agent/sources/file/file_state.pb.h"

namespace logship::agent {

std::string_view FilePositions::type() const { return FileState::kType; }

void FilePositions::Advance(const LineRecord& r) {
  const FilePosition& p = r.next_position;
  const std::pair<uint64_t, uint64_t> key{p.device, p.inode};
  if (last_ == nullptr || key != last_key_) {
    FlushRun();
    last_ = &moved_[key];  // std::map: stays valid until TakeDelta clears it
    last_key_ = key;
  }
  run_open_ = true;
  if (run_path_.size() != r.source_name.size() || run_path_ != r.source_name) run_path_.assign(r.source_name);
  run_next_ = p;
  // The bytes just before the new offset (the record's last bytes, and its newline): a
  // restart checks the file still holds them there.
  if (!r.position_tail.empty()) {
    run_tail_size_ = std::min<size_t>(r.position_tail.size(), sizeof run_tail_);
    std::memcpy(run_tail_, r.position_tail.data() + r.position_tail.size() - run_tail_size_, run_tail_size_);
    return;
  }
  const bool terminated = p.offset == r.start_position.offset + r.body.size() + 1;
  const size_t keep = std::min(r.body.size(), sizeof run_tail_ - (terminated ? 1 : 0));
  if (keep > 0) std::memcpy(run_tail_, r.body.data() + r.body.size() - keep, keep);
  if (terminated) run_tail_[keep] = '\n';
  run_tail_size_ = keep + (terminated ? 1 : 0);
}

void FilePositions::FlushRun() {
  if (!run_open_) return;
  run_open_ = false;
  v1::FileCheckpoint& cp = *last_;
  if (cp.path() != run_path_) cp.set_path(run_path_);
  if (cp.source().empty()) cp.set_source(source_key_);
  cp.set_device(run_next_.device);
  cp.set_inode(run_next_.inode);
  cp.set_fingerprint(run_next_.fingerprint);
  cp.set_generation(run_next_.generation);
  cp.set_offset(run_next_.offset);
  cp.set_released_unix_nano(0);
  cp.set_tail(std::string(run_tail_, run_tail_size_));
}

void FilePositions::Set(v1::FileCheckpoint position) {
  FlushRun();  // the record before it moved its file first
  position.set_source(source_key_);
  moved_[{position.device(), position.inode()}] = std::move(position);
}

void FilePositions::TakeDelta(std::string* out) {
  FlushRun();
  if (moved_.empty()) return;
  file::v1::FileSourceState delta;
  for (auto& [key, cp] : moved_) *delta.add_files() = std::move(cp);
  moved_.clear();
  last_ = nullptr;
  out->append(delta.SerializeAsString());
}

}  // namespace logship::agent
