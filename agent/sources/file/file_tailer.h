// One open log file: identity, read position, and line splitting. Loop thread only.
//
// Identity is (device, inode, fingerprint, generation), where the fingerprint hashes the
// file's first line (at most `fingerprint_bytes`). A file with no complete first line yet has
// no identity and is not read until it has one, so a record id never depends on how far the
// file had grown when it was first seen. The generation grows by one each time the file is
// truncated or rewritten (ContentChanged), so a copytruncate under a constant first line (a
// CSV or W3C header) gives the new content new ids.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/sources/file/container_format.h"
#include "agent/sources/file/multiline.h"
#include "agent/sources/source.h"
#include "common/file_util.h"
#include "common/record_id.h"
#include "common/status.h"

namespace logship::agent {

struct TailerOptions {
  uint64_t fingerprint_bytes = 1024;
  uint64_t max_line_bytes = 1ull << 20;
  size_t read_chunk = 256 << 10;
  const MultilineOptions* multiline = nullptr;  // grouping on when set; must outlive the tailer
  ContainerFormat format = ContainerFormat::kPlain;  // lines are container runtime records
  PositionTracker* positions = nullptr;  // LineRecord::positions (must outlive the tailer)
  bool follow_symlinks = false;  // else a link put in the file's place after the check is not opened
  // Read buffer shared by every tailer of a source (they read one at a time, on the loop
  // thread), so 1,000 open files do not hold 1,000 chunks. Null: the tailer has its own.
  std::shared_ptr<std::string> shared_buffer;
};

class FileTailer {
 public:
  // Opens `path`; NotFound if it vanished. Reading starts once Identify() succeeds.
  static Result<std::unique_ptr<FileTailer>> Open(const std::string& path, uint64_t source_id,
                                                  const TailerOptions& options);

  // Computes the fingerprint if not yet known. False while the file has no first line.
  bool Identify();
  bool identified() const { return identified_; }

  // Positions the reader (checkpoint or start_at). `tail` is what the file holds just
  // before `offset` (checked before every read; empty: unknown). REQUIRES: identified().
  void SeekTo(uint64_t offset, std::string tail = {});
  void set_generation(uint64_t g) { generation_ = g; }
  // Where the file's history ends now: after its last newline, so a line being written when
  // the agent first starts is shipped whole once it is complete. A last line longer than
  // `max_line` is cut at the file's size (it would be split into parts anyway).
  uint64_t HistoryEnd(uint64_t max_line) const;
  // The bytes [offset - n, offset) of the file, n = min(offset, max); "" when unreadable.
  std::string TailAt(uint64_t offset, size_t max = kTailBytes) const;
  static constexpr size_t kTailBytes = 32;

  enum class ReadOutcome { kMore, kEof, kError };
  // Reads up to `budget` bytes and emits every complete line. Partial lines wait for their
  // newline, except that more than max_line_bytes is emitted as a flagged part.
  ReadOutcome ReadSome(size_t budget, const Attributes* attributes, Emitter& out);

  // Emits a pending multi-line event that waited past its timeout (or any, when `force`).
  // Not while the file holds bytes not read yet: they may continue the event.
  void FlushPending(bool force, const Attributes* attributes, Emitter& out);
  // The file is finished (released, or about to start over): emits the pending event and an
  // unterminated last line as records of their own; no newline will ever complete them.
  void FlushAll(const Attributes* attributes, Emitter& out);

  // Why what was read no longer matches the file, or nullptr: it shrank below what was read
  // (copytruncate), its first line changed, or the bytes just before the read offset did
  // (truncated and rewritten past the old offset between two looks).
  const char* ContentChanged() const;
  // Shrunk below what was read.
  bool Truncated() const;
  // The first line is no longer the one the fingerprint was taken from.
  bool Rewritten() const;
  // Forgets the identity and starts over at 0 as the next generation. FlushAll first.
  void ResetAfterTruncation();

  uint64_t device() const { return device_; }
  uint64_t inode() const { return inode_; }
  uint64_t fingerprint() const { return fingerprint_; }
  uint64_t generation() const { return generation_; }
  uint64_t read_offset() const { return read_offset_; }
  const std::string& path() const { return path_; }
  void set_path(std::string p) { path_ = std::move(p); }
  int fd() const { return fd_.get(); }
  uint64_t source_id() const { return source_id_; }

 private:
  FileTailer(std::string path, UniqueFd fd, uint64_t source_id, const TailerOptions& options)
      : path_(std::move(path)), fd_(std::move(fd)), source_id_(source_id), options_(options) {}
  // A complete line (or a part, by flags) → container decoding → Group().
  void OnLine(std::string_view body, uint64_t offset, uint64_t next_offset, uint32_t flags, int64_t now,
              const Attributes* attributes, Emitter& out);
  // A message → multiline grouping or straight out.
  void Group(std::string_view body, uint64_t offset, uint64_t next_offset, uint32_t flags, const LineMeta& meta,
             int64_t now, const Attributes* attributes, Emitter& out);
  void EmitRecord(std::string_view body, uint64_t offset, uint64_t next_offset, uint32_t flags, const LineMeta& meta,
                  int64_t now, const Attributes* attributes, Emitter& out);
  // The source's attributes, plus the Kubernetes metadata of this file's path (if any).
  const Attributes* SourceAttributes(const Attributes* given) {  // per line: inline
    return path_attributes_.empty() ? given : MergedAttributes(given);
  }
  const Attributes* MergedAttributes(const Attributes* given);
  uint64_t HashFirstLine(bool* complete) const;

  std::string path_;
  UniqueFd fd_;
  uint64_t source_id_;
  TailerOptions options_;
  uint64_t device_ = 0, inode_ = 0, fingerprint_ = 0, generation_ = 0;
  bool identified_ = false;
  uint64_t read_offset_ = 0;     // next byte to read from the file
  std::string tail_;             // the file's bytes just before read_offset_ (<= kTailBytes)
  std::string partial_;          // an unterminated line's bytes, starting at partial_offset_
  uint64_t partial_offset_ = 0;
  bool split_pending_ = false;   // earlier parts of the pending line were emitted
  std::shared_ptr<std::string> chunk_;          // options_.shared_buffer, or our own
  std::unique_ptr<MultilineGrouper> grouper_;  // set when options_.multiline is
  std::unique_ptr<ContainerDecoder> decoder_;  // set when options_.format is not plain
  Attributes path_attributes_;                 // Kubernetes metadata from the path
  std::optional<Attributes> merged_attributes_;  // given + path_attributes_, built once
  std::vector<AttributeView> record_attributes_;  // of the record being emitted
  LineRecord record_;                             // the record being emitted (views: valid in Emit only)
};

}  // namespace logship::agent
