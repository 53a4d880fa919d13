#include "agent/sources/file/file_tailer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "agent/sources/file/kubernetes_path.h"
#include "common/clock.h"
#include "logship/v1/record.pb.h"

namespace logship::agent {

Result<std::unique_ptr<FileTailer>> FileTailer::Open(const std::string& path, uint64_t source_id,
                                                     const TailerOptions& options) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (options.follow_symlinks ? 0 : O_NOFOLLOW)));
  if (!fd.valid()) {
    if (errno == ENOENT) return Status::NotFound(path);
    return Status::FromErrno("open " + path, errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno("stat " + path, errno);
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(path + " is not a regular file");
  std::unique_ptr<FileTailer> t(new FileTailer(path, std::move(fd), source_id, options));
  if (options.multiline != nullptr) t->grouper_ = std::make_unique<MultilineGrouper>(*options.multiline);
  if (options.format != ContainerFormat::kPlain) {
    t->decoder_ = std::make_unique<ContainerDecoder>(options.format, options.max_line_bytes);
    t->path_attributes_ = KubernetesPathAttributes(path);
  }
  t->chunk_ = options.shared_buffer ? options.shared_buffer : std::make_shared<std::string>();
  t->device_ = static_cast<uint64_t>(st.st_dev);
  t->inode_ = static_cast<uint64_t>(st.st_ino);
  return t;
}

uint64_t FileTailer::HashFirstLine(bool* complete) const {
  std::string head(options_.fingerprint_bytes, '\0');
  const ssize_t n = ::pread(fd_.get(), head.data(), head.size(), 0);
  *complete = false;
  if (n <= 0) return 0;
  head.resize(static_cast<size_t>(n));
  const size_t nl = head.find('\n');
  if (nl == std::string::npos && head.size() < options_.fingerprint_bytes) return 0;
  *complete = true;
  return XXH3_64bits(head.data(), nl == std::string::npos ? head.size() : nl + 1);
}

bool FileTailer::Identify() {
  if (identified_) return true;
  bool complete = false;
  fingerprint_ = HashFirstLine(&complete);
  identified_ = complete;
  return identified_;
}

bool FileTailer::Rewritten() const {
  if (!identified_) return false;
  bool complete = false;
  const uint64_t now = HashFirstLine(&complete);
  return !complete || now != fingerprint_;
}

uint64_t FileTailer::HistoryEnd(uint64_t max_line) const {
  struct stat st {};
  const uint64_t size = ::fstat(fd_.get(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  constexpr size_t kStep = 64 << 10;
  std::string buf(kStep, '\0');
  uint64_t end = size;
  while (end > 0 && size - end <= max_line) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kStep, end));
    const ssize_t got = ::pread(fd_.get(), buf.data(), n, static_cast<off_t>(end - n));
    if (got != static_cast<ssize_t>(n)) return size;
    for (size_t i = n; i > 0; --i)
      if (buf[i - 1] == '\n') return end - n + i;
    end -= n;
  }
  return end == 0 ? 0 : size;
}

std::string FileTailer::TailAt(uint64_t offset, size_t max) const {
  const uint64_t n = std::min<uint64_t>(offset, max);
  std::string out;
  if (n == 0 || !PreadExact(fd_.get(), offset - n, static_cast<size_t>(n), &out).ok()) return {};
  return out;
}

void FileTailer::SeekTo(uint64_t offset, std::string tail) {
  read_offset_ = offset;
  tail_ = std::move(tail);
  partial_.clear();
  split_pending_ = false;
  if (grouper_) grouper_->Reset();
  if (decoder_) decoder_->Reset();
  partial_offset_ = offset;
}

bool FileTailer::Truncated() const {
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0) return false;
  return static_cast<uint64_t>(st.st_size) < read_offset_;
}

const char* FileTailer::ContentChanged() const {
  if (!identified_) return nullptr;
  if (Truncated()) return "was truncated";
  if (Rewritten()) return "was rewritten in place (its first line changed)";
  if (!tail_.empty()) {
    std::string now;
    if (!PreadExact(fd_.get(), read_offset_ - tail_.size(), tail_.size(), &now).ok() || now != tail_)
      return "was rewritten in place (the bytes before the read position changed)";
  }
  return nullptr;
}

void FileTailer::ResetAfterTruncation() {
  identified_ = false;
  fingerprint_ = 0;
  ++generation_;
  SeekTo(0);
}

const Attributes* FileTailer::MergedAttributes(const Attributes* given) {
  if (!merged_attributes_) {
    merged_attributes_ = given != nullptr ? *given : Attributes{};
    merged_attributes_->insert(merged_attributes_->end(), path_attributes_.begin(), path_attributes_.end());
  }
  return &*merged_attributes_;
}

void FileTailer::EmitRecord(std::string_view body, uint64_t offset, uint64_t next_offset, uint32_t flags,
                            const LineMeta& meta, int64_t now, const Attributes* attributes, Emitter& out) {
  // Per line: the kept record is overwritten field by field (has_id and id stay unset).
  LineRecord& r = record_;
  r.source_id = source_id_;
  r.source_name = path_;
  r.attributes = SourceAttributes(attributes);
  r.body = body;
  r.observed_unix_nano = now;
  r.time_unix_nano = meta.time_unix_nano;
  r.position_tail = meta.raw_tail;
  r.flags = flags;
  r.record_attributes = nullptr;
  if (!meta.stream.empty() || !meta.error.empty()) {
    record_attributes_.clear();
    if (!meta.stream.empty()) record_attributes_.push_back({"log.iostream", meta.stream});
    if (!meta.error.empty()) record_attributes_.push_back({"logship.format_error", meta.error});
    r.record_attributes = &record_attributes_;
  }
  r.start_position = FilePosition{device_, inode_, fingerprint_, offset, generation_};
  r.next_position = FilePosition{device_, inode_, fingerprint_, next_offset, generation_};
  r.positions = options_.positions;
  out.Emit(r);
}

void FileTailer::OnLine(std::string_view body, uint64_t offset, uint64_t next_offset, uint32_t flags, int64_t now,
                        const Attributes* attributes, Emitter& out) {
  if (!decoder_) {
    Group(body, offset, next_offset, flags, LineMeta{}, now, attributes, out);
    return;
  }
  decoder_->Add(body, offset, next_offset, flags,
                [&](std::string_view b, uint64_t o, uint64_t n, uint32_t f, const LineMeta& meta) {
                  Group(b, o, n, f, meta, now, attributes, out);
                });
}

void FileTailer::Group(std::string_view body, uint64_t offset, uint64_t next_offset, uint32_t flags,
                       const LineMeta& meta, int64_t now, const Attributes* attributes, Emitter& out) {
  if (!grouper_) {
    EmitRecord(body, offset, next_offset, flags, meta, now, attributes, out);
    return;
  }
  const auto emit = [&](std::string_view b, uint64_t o, uint64_t n, const LineMeta& m) {
    EmitRecord(b, o, n, 0, m, now, attributes, out);
  };
  if (flags != 0) {
    // A part of an over-long line is never grouped; it closes the pending event first.
    grouper_->Flush(emit);
    EmitRecord(body, offset, next_offset, flags, meta, now, attributes, out);
    return;
  }
  grouper_->Add(body, offset, next_offset, MonotonicNanos(), emit, meta);
}

void FileTailer::FlushPending(bool force, const Attributes* attributes, Emitter& out) {
  if (!grouper_ || !grouper_->pending()) return;
  const int64_t now = UnixNanosNow();
  const auto emit = [&](std::string_view b, uint64_t o, uint64_t n, const LineMeta& m) {
    EmitRecord(b, o, n, 0, m, now, attributes, out);
  };
  if (force) {
    grouper_->Flush(emit);
    return;
  }
  // Bytes already written but not read yet may continue the event: the timeout counts from
  // the last line the file offered, not from the last one this (perhaps starved) agent read.
  struct stat st;
  if (::fstat(fd_.get(), &st) == 0 && static_cast<uint64_t>(st.st_size) > read_offset_) return;
  grouper_->FlushIfIdle(MonotonicNanos(), emit);
}

void FileTailer::FlushAll(const Attributes* attributes, Emitter& out) {
  const uint32_t flags = split_pending_ ? (logship::v1::LogRecord::FLAG_PARTIAL | logship::v1::LogRecord::FLAG_LAST_PART) : 0;
  const uint64_t end = partial_offset_ + partial_.size();
  if (decoder_) {
    // The unterminated last line is a runtime record like the others; then the message whose
    // last piece never came goes out as it is.
    const int64_t now = UnixNanosNow();
    if (!partial_.empty()) {
      const std::string line = std::move(partial_);
      const uint64_t offset = partial_offset_;
      partial_.clear();
      split_pending_ = false;
      partial_offset_ = end;
      OnLine(line, offset, end, flags, now, attributes, out);
    }
    decoder_->Flush([&](std::string_view b, uint64_t o, uint64_t n, uint32_t f, const LineMeta& meta) {
      Group(b, o, n, f, meta, now, attributes, out);
    });
  }
  FlushPending(/*force=*/true, attributes, out);
  if (partial_.empty()) return;
  // Not grouped: a multi-line event never waits for a line that will not come.
  EmitRecord(partial_, partial_offset_, end, flags, LineMeta{}, UnixNanosNow(), attributes, out);
  partial_.clear();
  split_pending_ = false;
  partial_offset_ = end;
}

FileTailer::ReadOutcome FileTailer::ReadSome(size_t budget, const Attributes* attributes, Emitter& out) {
  if (!identified_) return ReadOutcome::kEof;  // no identity, no ids: wait (see Identify)
  size_t consumed = 0;
  const uint64_t max_line = options_.max_line_bytes;
  const bool plain = !decoder_ && !grouper_;  // no container decoding, no multi-line grouping
  while (consumed < budget) {
    std::string& chunk = *chunk_;
    chunk.resize(options_.read_chunk);
    const ssize_t n = ::pread(fd_.get(), chunk.data(), chunk.size(), static_cast<off_t>(read_offset_));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ReadOutcome::kError;
    }
    if (n == 0) return ReadOutcome::kEof;
    const int64_t now = UnixNanosNow();
    const char* p = chunk.data();
    const char* end = p + n;
    uint64_t pos = read_offset_;  // file offset of *p
    while (p < end) {
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
      const size_t avail = static_cast<size_t>((nl ? nl : end) - p);
      if (partial_.empty() && !split_pending_ && nl && avail <= max_line) {
        // Fast path: the whole line is in the chunk; emit it without copying (a plain file's
        // straight to the record).
        if (plain) EmitRecord(std::string_view(p, avail), pos, pos + avail + 1, 0, LineMeta{}, now, attributes, out);
        else OnLine(std::string_view(p, avail), pos, pos + avail + 1, 0, now, attributes, out);
      } else {
        // Grow the pending line, cutting a flagged part each time it exceeds max_line.
        const char* q = p;
        size_t take = avail;
        while (partial_.size() + take > max_line) {
          const size_t room = static_cast<size_t>(max_line - partial_.size());
          if (partial_.empty()) partial_offset_ = pos + static_cast<uint64_t>(q - p);
          partial_.append(q, room);
          OnLine(partial_, partial_offset_, partial_offset_ + partial_.size(), logship::v1::LogRecord::FLAG_PARTIAL, now,
                 attributes, out);
          partial_.clear();
          split_pending_ = true;
          q += room;
          take -= room;
        }
        if (partial_.empty()) partial_offset_ = pos + static_cast<uint64_t>(q - p);
        partial_.append(q, take);
        if (nl) {
          const uint32_t flags =
              split_pending_ ? (logship::v1::LogRecord::FLAG_PARTIAL | logship::v1::LogRecord::FLAG_LAST_PART) : 0;
          OnLine(partial_, partial_offset_, pos + avail + 1, flags, now, attributes, out);
          partial_.clear();
          split_pending_ = false;
        }
      }
      pos += avail + (nl ? 1 : 0);
      p = nl ? nl + 1 : end;
    }
    read_offset_ += static_cast<uint64_t>(n);
    consumed += static_cast<size_t>(n);
    if (static_cast<size_t>(n) >= kTailBytes) {
      tail_.assign(chunk.data() + n - kTailBytes, kTailBytes);
    } else {
      tail_.append(chunk.data(), static_cast<size_t>(n));
      if (tail_.size() > kTailBytes) tail_.erase(0, tail_.size() - kTailBytes);
    }
    if (!out.Accepting()) return ReadOutcome::kMore;
  }
  return ReadOutcome::kMore;
}

}  // namespace logship::agent
