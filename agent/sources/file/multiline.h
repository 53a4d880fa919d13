// Groups physical lines into multi-line events (stack traces): a line matching
// `start_pattern` starts an event; other lines continue the pending one. An event is
// closed by the next start line, by max_lines / max_bytes, or by Flush() (timeout, file
// released). Offsets travel with it so the record id is that of its first line and the
// checkpoint lands after its last. Not thread-safe.
#pragma once

#include <re2/re2.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "agent/sources/file/line_meta.h"

namespace logship::agent {

struct MultilineOptions {
  std::shared_ptr<const RE2> start_pattern;  // required
  uint32_t max_lines = 500;
  uint64_t max_bytes = 1ull << 20;
  int64_t timeout_ns = 1'000'000'000;
};

class MultilineGrouper {
 public:
  // body, offset of the first line, offset just after the last line's newline, the first
  // line's meta.
  using EmitFn =
      std::function<void(std::string_view body, uint64_t offset, uint64_t next_offset, const LineMeta& meta)>;

  explicit MultilineGrouper(const MultilineOptions& options) : options_(options) {}

  // One complete line (no newline) at `offset`; `next_offset` is just after its newline.
  // `now_ns` is a monotonic clock reading, for the timeout.
  void Add(std::string_view line, uint64_t offset, uint64_t next_offset, int64_t now_ns, const EmitFn& emit,
           const LineMeta& meta = {});
  // Emits the pending event, if any.
  void Flush(const EmitFn& emit);
  // Flushes when the pending event has waited longer than the timeout.
  void FlushIfIdle(int64_t now_ns, const EmitFn& emit);
  bool pending() const { return lines_ > 0; }
  void Reset();

 private:
  const MultilineOptions& options_;
  std::string body_;
  uint64_t offset_ = 0;
  uint64_t next_offset_ = 0;
  uint32_t lines_ = 0;
  LineMeta meta_;     // of the first line; raw_tail views tail_
  std::string tail_;  // the last line's raw_tail
  int64_t last_add_ns_ = 0;
};

}  // namespace logship::agent
