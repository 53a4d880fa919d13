#include "agent/spool/spool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>

#include "agent/spool/frame_format.h"
#include "agent/spool/segment_reader.h"
#include "common/log.h"

namespace logship::spool {
namespace {

constexpr std::string_view kComponent = "spool";

std::string SegmentName(uint64_t first_sequence) {
  char name[32];
  std::snprintf(name, sizeof name, "%020" PRIu64 "%s", first_sequence, kSegmentSuffix);
  return name;
}

bool ParseSegmentName(const std::string& name, uint64_t* first) {
  const std::string suffix = kSegmentSuffix;
  if (name.size() != 20 + suffix.size() || name.substr(20) != suffix) return false;
  if (!std::all_of(name.begin(), name.begin() + 20, [](char c) { return c >= '0' && c <= '9'; })) return false;
  *first = std::stoull(name.substr(0, 20));
  return true;
}

}  // namespace

Result<std::unique_ptr<Spool>> Spool::Open(const SpoolOptions& options) {
  SpoolOptions o = options;
  // Segments must be small against the bound, or an acked-but-undeletable active segment
  // could hold most of the budget.
  o.segment_bytes = std::max<uint64_t>(64 << 10, std::min(o.segment_bytes, o.max_bytes / 4));
  std::unique_ptr<Spool> spool(new Spool(std::move(o)));
  Status s = spool->Recover();
  if (!s.ok()) return s;
  return spool;
}

Spool::~Spool() {
  MutexLock lock(mu_);
  PersistAckedLocked();
}

Status Spool::Recover() {
  Status s = MakeDirs(options_.dir);
  if (!s.ok()) return s;
  uint64_t acked = 0;
  if (auto text = ReadWholeFile(options_.dir + "/" + kAckedFile); text.ok()) {
    acked = std::strtoull(text->c_str(), nullptr, 10);  // unreadable → 0: frames are re-sent, never lost
  }
  auto names = ListDir(options_.dir);
  if (!names.ok()) return names.status();
  std::vector<std::pair<uint64_t, std::string>> found;
  for (const auto& name : *names) {
    uint64_t first = 0;
    if (ParseSegmentName(name, &first)) found.emplace_back(first, name);
  }
  std::sort(found.begin(), found.end());

  uint64_t max_sequence = acked;
  for (const auto& [first, name] : found) {
    Segment seg;
    seg.first_sequence = first;
    seg.path = options_.dir + "/" + name;
    seg.fd.reset(::open(seg.path.c_str(), O_RDWR | O_CLOEXEC));
    if (!seg.fd.valid()) return Status::FromErrno("open " + seg.path, errno);
    struct stat st {};
    if (::fstat(seg.fd.get(), &st) != 0) return Status::FromErrno("stat " + seg.path, errno);
    SegmentReader reader(seg.fd.get(), static_cast<uint64_t>(st.st_size));
    if (Status h = reader.ReadSegmentHeader(); !h.ok()) {
      // Its frames may still be whole: each carries its own magic and checksum.
      LogWarn(kComponent, "segment " + seg.path + " has a damaged header (" + h.message() +
                              "); recovering the frames after it");
      reader.SkipDamagedHeader();
    }
    ++recovery_.segments;
    segments_.push_back(std::move(seg));
    Segment* sp = &segments_.back();
    while (auto loc = reader.Next()) {
      const uint64_t seq = loc->header.sequence;
      if (seq <= max_sequence && seq > acked) {
        LogWarn(kComponent, "ignoring out-of-order frame " + std::to_string(seq) + " in " + sp->path);
        continue;
      }
      max_sequence = std::max(max_sequence, seq);
      ++recovery_.frames;
      if (sp->last_sequence == 0 && sp->first_sequence > seq) sp->first_sequence = seq;
      sp->last_sequence = std::max(sp->last_sequence, seq);
      FrameRef ref{sp, loc->offset, loc->header};
      recovered_.push_back(ref);
      if (seq > acked) unacked_.emplace(seq, ref);
    }
    if (!reader.status().ok()) return reader.status();
    recovery_.corrupt_frames += reader.corrupt_frames();
    recovery_.torn_bytes += reader.skipped_bytes();
    if (reader.corrupt_frames() > 0)
      LogWarn(kComponent, "skipped " + std::to_string(reader.corrupt_frames()) + " corrupt frame(s) in " + sp->path);
    if (reader.valid_end() < static_cast<uint64_t>(st.st_size)) {
      LogWarn(kComponent, "cutting torn tail of " + sp->path + " at byte " + std::to_string(reader.valid_end()));
      if (::ftruncate(sp->fd.get(), static_cast<off_t>(reader.valid_end())) != 0)
        return Status::FromErrno("truncate " + sp->path, errno);
    }
    sp->size = reader.valid_end();
    if (sp->last_sequence == 0) {
      // No frames (e.g. the fresh segment of a run that appended nothing). Remove it now: the
      // next segment may get the very same name, and reclaiming this entry later would
      // unlink that file.
      ::unlink(sp->path.c_str());
      segments_.pop_back();
      continue;
    }
    bytes_ += sp->size;
  }
  recovery_.unacked_frames = unacked_.size();
  next_sequence_ = max_sequence + 1;
  readable_end_ = next_sequence_;
  persisted_acked_ = acked;
  // A full disk must not keep the agent from starting: Append retries the segment.
  if (Status s = StartSegment(next_sequence_); !s.ok()) LogWarn(kComponent, "cannot start a new segment yet: " + s.message());
  return Status::Ok();
}

Status Spool::StartSegment(uint64_t first_sequence) {
  Segment seg;
  seg.first_sequence = first_sequence;
  seg.path = options_.dir + "/" + SegmentName(first_sequence);
  seg.fd.reset(::open(seg.path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640));
  if (!seg.fd.valid()) return Status::FromErrno("create " + seg.path, errno);
  std::string header(kSegmentHeaderSize, '\0');
  std::copy(std::begin(kSegmentMagic), std::end(kSegmentMagic), header.begin());
  header[8] = static_cast<char>(kSegmentVersion);
  if (Status s = WriteAll(seg.fd.get(), header); !s.ok()) {
    ::unlink(seg.path.c_str());
    return s;
  }
  if (options_.fsync == FsyncPolicy::kBatch) {
    if (Status s = SyncDir(options_.dir); !s.ok()) return s;
  }
  seg.size = kSegmentHeaderSize;
  // The finished segment is never written again; make it durable before moving on.
  if (active_ != nullptr && options_.fsync != FsyncPolicy::kNever && ::fdatasync(active_->fd.get()) != 0)
    return Status::FromErrno("fdatasync " + active_->path, errno);
  MutexLock lock(mu_);
  segments_.push_back(std::move(seg));
  active_ = &segments_.back();
  bytes_ += kSegmentHeaderSize;
  DeleteReclaimableSegmentsLocked();
  return Status::Ok();
}

Result<uint64_t> Spool::Append(const AppendRequest& r) {
  if (r.payload.size() > kMaxPayloadLength || r.meta.size() > kMaxMetaLength)
    return Status::InvalidArgument("frame too large for the spool");
  const uint64_t frame_size = kFrameHeaderSize + r.payload.size() + r.meta.size();
  uint64_t sequence = 0;
  bool start_new = false;
  {
    MutexLock lock(mu_);
    // Never refuse when nothing is waiting: a single batch larger than the bound must pass.
    if (bytes_ + frame_size > options_.max_bytes && !unacked_.empty())
      return Status::ResourceExhausted("spool full (" + std::to_string(bytes_) + " of " +
                                       std::to_string(options_.max_bytes) + " bytes)");
    sequence = next_sequence_;
    if (active_ == nullptr) {
      start_new = true;  // an earlier StartSegment failed (disk full?): try again
    } else if (active_->last_sequence != 0) {
      const bool all_acked = active_->last_sequence < FirstUnackedLocked();
      start_new = all_acked || active_->size + frame_size > options_.segment_bytes;
      if (all_acked && active_->last_sequence <= checkpointed_) {
        // Nothing in it is needed any more: free its space before asking for more (a full
        // disk may have no room for a new segment otherwise).
        ::unlink(active_->path.c_str());
        bytes_ -= active_->size;
        segments_.pop_back();
        active_ = nullptr;
      }
    }
  }
  if (start_new) {
    if (Status s = StartSegment(sequence); !s.ok()) return s;
  }
  FrameHeader h;
  h.sequence = sequence;
  h.record_count = r.record_count;
  h.uncompressed_bytes = r.uncompressed_bytes;
  h.codec = r.codec;
  scratch_.clear();
  EncodeFrame(h, r.payload, r.meta, &scratch_);
  const uint64_t offset = active_->size;
  Status s = WriteAll(active_->fd.get(), scratch_);
  if (s.ok() && options_.fsync == FsyncPolicy::kBatch && !r.defer_sync && ::fdatasync(active_->fd.get()) != 0)
    s = Status::FromErrno("fdatasync " + active_->path, errno);
  if (!s.ok()) {
    // Leave no partial frame behind; the caller keeps the batch and retries.
    if (::ftruncate(active_->fd.get(), static_cast<off_t>(offset)) != 0)
      LogError(kComponent, "cannot cut failed append in " + active_->path);
    ::lseek(active_->fd.get(), static_cast<off_t>(offset), SEEK_SET);
    return s;
  }
  h.payload_length = static_cast<uint32_t>(r.payload.size());
  h.meta_length = static_cast<uint32_t>(r.meta.size());
  {
    MutexLock lock(mu_);
    active_->size += frame_size;
    if (active_->last_sequence == 0) active_->first_sequence = sequence;
    active_->last_sequence = sequence;
    bytes_ += frame_size;
    unacked_.emplace(sequence, FrameRef{active_, offset, h});
    next_sequence_ = sequence + 1;
    // A frame becomes readable (shippable) once durable: with fsync batch at the Sync() that
    // makes a deferred frame durable (this one's fdatasync also covered every deferred frame
    // before it in the segment), with fsync interval at the next interval Sync(). A shipped
    // frame that a power cut undid would have its lines read again with new observed times:
    // stored twice. With fsync never that risk is accepted (README).
    const bool durable_now = options_.fsync == FsyncPolicy::kNever ||
                             (options_.fsync == FsyncPolicy::kBatch && !r.defer_sync);
    if (durable_now) readable_end_ = next_sequence_;
  }
  appended_.NotifyAll();
  return sequence;
}

Status Spool::Sync() {
  // Earlier segments were synced when the next one was started.
  if (active_ != nullptr && ::fdatasync(active_->fd.get()) != 0)
    return Status::FromErrno("fdatasync " + active_->path, errno);
  {
    MutexLock lock(mu_);
    readable_end_ = next_sequence_;
  }
  appended_.NotifyAll();
  return Status::Ok();
}

Status Spool::ForEachRecoveredMetaAfter(uint64_t after, const std::function<void(uint64_t, std::string_view)>& fn) {
  std::string buf;
  for (const FrameRef& ref : recovered_) {
    if (ref.header.sequence <= after || ref.header.meta_length == 0) continue;
    Status s = PreadExact(ref.segment->fd.get(), ref.offset + kFrameHeaderSize + ref.header.payload_length,
                          ref.header.meta_length, &buf);
    if (!s.ok()) return s;
    fn(ref.header.sequence, buf);
  }
  recovered_.clear();
  recovered_.shrink_to_fit();
  return Status::Ok();
}

void Spool::EnsureSequenceAbove(uint64_t sequence) {
  MutexLock lock(mu_);
  const bool all_readable = readable_end_ == next_sequence_;
  next_sequence_ = std::max(next_sequence_, sequence + 1);
  if (all_readable) readable_end_ = next_sequence_;
}

void Spool::MarkCheckpointed(uint64_t sequence) {
  MutexLock lock(mu_);
  checkpointed_ = std::max(checkpointed_, sequence);
  DeleteReclaimableSegmentsLocked();
}

uint64_t Spool::FirstUnackedLocked() const {
  return unacked_.empty() ? next_sequence_ : unacked_.begin()->first;
}

uint64_t Spool::FirstUnacked() const {
  MutexLock lock(mu_);
  return FirstUnackedLocked();
}

uint64_t Spool::NextSequence() const {
  MutexLock lock(mu_);
  return readable_end_;
}

bool Spool::WaitForFrame(uint64_t sequence, std::chrono::milliseconds timeout) const {
  MutexLock lock(mu_);
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (readable_end_ <= sequence && appended_.WaitUntil(mu_, until)) {
  }
  return readable_end_ > sequence;
}

Result<SpooledFrame> Spool::Read(uint64_t sequence) {
  MutexLock lock(mu_);
  auto it = unacked_.find(sequence);
  if (it == unacked_.end()) return Status::NotFound("frame " + std::to_string(sequence) + " is not in the spool");
  const FrameRef& ref = it->second;
  SpooledFrame f;
  f.sequence = sequence;
  f.record_count = ref.header.record_count;
  f.uncompressed_bytes = ref.header.uncompressed_bytes;
  f.codec = ref.header.codec;
  Status s = PreadExact(ref.segment->fd.get(), ref.offset + kFrameHeaderSize, ref.header.payload_length, &f.payload);
  if (!s.ok()) return s;
  return f;
}

void Spool::Ack(uint64_t sequence) {
  MutexLock lock(mu_);
  if (unacked_.erase(sequence) == 0) return;
  DeleteReclaimableSegmentsLocked();
}

void Spool::PersistAckedLocked() {
  const uint64_t acked = FirstUnackedLocked() - 1;
  if (acked == persisted_acked_) return;
  Status s = WriteFileAtomically(options_.dir + "/" + kAckedFile, std::to_string(acked) + "\n", /*sync=*/false);
  if (!s.ok()) {
    LogWarn(kComponent, "cannot record acknowledged frames (they may be re-sent): " + s.message());
    return;
  }
  persisted_acked_ = acked;
}

void Spool::DeleteReclaimableSegmentsLocked() {
  const uint64_t first_unacked = FirstUnackedLocked();
  bool persisted = false;
  while (!segments_.empty() && &segments_.front() != active_) {
    Segment& seg = segments_.front();
    const bool reclaimable =
        seg.last_sequence == 0 || (seg.last_sequence < first_unacked && seg.last_sequence <= checkpointed_);
    if (!reclaimable) break;
    if (!persisted) {
      // The acked mark must be on disk before the frames it describes disappear.
      PersistAckedLocked();
      persisted = true;
    }
    ::unlink(seg.path.c_str());
    bytes_ -= seg.size;
    segments_.pop_front();
  }
}

uint64_t Spool::Bytes() const {
  MutexLock lock(mu_);
  return bytes_;
}

uint64_t Spool::UnackedFrames() const {
  MutexLock lock(mu_);
  return unacked_.size();
}

}  // namespace logship::spool
