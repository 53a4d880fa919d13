#include "agent/sources/file/multiline.h"

namespace logship::agent {

void MultilineGrouper::Add(std::string_view line, uint64_t offset, uint64_t next_offset, int64_t now_ns,
                           const EmitFn& emit, const LineMeta& meta) {
  const bool starts = RE2::PartialMatch(re2::StringPiece(line.data(), line.size()), *options_.start_pattern);
  if (lines_ > 0 && (starts || lines_ >= options_.max_lines || body_.size() + 1 + line.size() > options_.max_bytes))
    Flush(emit);
  if (lines_ == 0) {
    offset_ = offset;
    meta_ = meta;
    body_.assign(line);
  } else {
    body_.push_back('\n');
    body_.append(line);
  }
  next_offset_ = next_offset;
  tail_.assign(meta.raw_tail);
  meta_.raw_tail = tail_;
  ++lines_;
  last_add_ns_ = now_ns;
}

void MultilineGrouper::Flush(const EmitFn& emit) {
  if (lines_ == 0) return;
  emit(body_, offset_, next_offset_, meta_);
  Reset();
}

void MultilineGrouper::FlushIfIdle(int64_t now_ns, const EmitFn& emit) {
  if (lines_ > 0 && now_ns - last_add_ns_ >= options_.timeout_ns) Flush(emit);
}

void MultilineGrouper::Reset() {
  body_.clear();
  lines_ = 0;
}

}  // namespace logship::agent
