// Container runtimes' log files (README "Container logs"): each physical line is one runtime
// record that wraps a piece of what the container wrote.
// - CRI (containerd, CRI-O): `<RFC 3339 time> <stdout|stderr> <P|F> <message>`; P marks a
//   piece the runtime cut (at 16 KiB), F the piece that ends the line.
// - Docker json-file: `{"log":"…\n","stream":"stdout","time":"…"}`; a "log" without its
//   trailing newline is a piece of a longer line (cut at 16 KiB).
// The decoder joins the pieces of one line into one message. Offsets travel with it: the
// message's id is the offset of its first piece, and the checkpoint lands after its last, so
// a restart between pieces reads them all again (exactly once). A line that is not in the
// format is shipped as it is, with the reason in `logship.format_error`. Loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "agent/sources/file/line_meta.h"

namespace logship::agent {

enum class ContainerFormat { kPlain, kCri, kDocker, kAuto };  // kAuto: CRI or Docker per line

class ContainerDecoder {
 public:
  // body, offset of the first piece's line, offset just after the last piece's newline,
  // logship.v1.LogRecord flags (a message over max_bytes goes out in flagged parts).
  using EmitFn = std::function<void(std::string_view body, uint64_t offset, uint64_t next_offset, uint32_t flags,
                                    const LineMeta& meta)>;

  // `max_bytes`: the most a joined message holds (max_line_bytes); longer ones are cut
  // between pieces into flagged parts, never dropped.
  ContainerDecoder(ContainerFormat format, uint64_t max_bytes) : format_(format), max_bytes_(max_bytes) {}

  // One physical line without its newline, at [offset, next_offset). `flags` non-zero: a
  // part of a line over max_line_bytes, shipped as it is (it cannot be decoded whole).
  void Add(std::string_view line, uint64_t offset, uint64_t next_offset, uint32_t flags, const EmitFn& emit);
  // Emits a pending message whose last piece never came (the file is finished).
  void Flush(const EmitFn& emit);
  bool pending() const { return pieces_ > 0; }
  void Reset();

 private:
  struct Piece {
    std::string_view text;
    LineMeta meta;
    bool last = true;  // ends the line (CRI F; Docker "log" ending in a newline)
  };
  // False (meta.error set) when `line` is not a record of the format.
  bool Decode(std::string_view line, Piece* piece);
  bool DecodeCri(std::string_view line, Piece* piece);
  bool DecodeDocker(std::string_view line, Piece* piece);
  void EmitPending(uint32_t flags, const EmitFn& emit);
  // Sets line_tail_ to the file's bytes just before `next_offset` (checkpoint check).
  void SetLineTail(std::string_view line, uint64_t offset, uint64_t next_offset);

  const ContainerFormat format_;
  const uint64_t max_bytes_;
  std::string json_;        // a Docker "log" string, unescaped
  std::string body_;        // the pieces joined so far
  std::string line_tail_;   // the current line's last bytes (LineMeta::raw_tail)
  std::string pending_tail_;  // the last pending piece's
  LineMeta meta_;           // of the first piece
  uint64_t offset_ = 0, next_offset_ = 0;
  uint32_t pieces_ = 0;
  bool cut_ = false;        // earlier parts of this message were emitted (over max_bytes)
};

}  // namespace logship::agent
