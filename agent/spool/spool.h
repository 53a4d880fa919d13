// The agent's bounded on-disk buffer of compressed batches (format: FORMAT.md).
//
// Threads: one writer thread (the agent's SpoolWriter) calls Append/Sync; the agent loop
// calls the recovery accessors (before the writer starts) and MarkCheckpointed; one reader
// thread (the shipper) calls Read/Ack/WaitForFrame; the size accessors are safe from
// anywhere. Internally one mutex guards the index and segment list; file writes happen
// outside it, reads (pread) inside it.
//
// Lifecycle of a frame: Append gives it the next sequence → the shipper Reads and sends
// it → the collector acks → Ack drops it from the index. A segment file is deleted once
// every frame in it is acked and the checkpoint file covers it (MarkCheckpointed).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/spool/frame_codec.h"
#include "common/file_util.h"
#include "common/status.h"
#include "common/thread/mutex.h"

namespace logship::spool {

enum class FsyncPolicy { kBatch, kInterval, kNever };

struct SpoolOptions {
  std::string dir;                       // created if missing
  uint64_t max_bytes = 1ull << 30;       // Append refuses beyond this (sources pause)
  uint64_t segment_bytes = 16ull << 20;  // roll to a new file past this size
  FsyncPolicy fsync = FsyncPolicy::kBatch;
};

struct AppendRequest {
  uint32_t record_count = 0;
  uint32_t uncompressed_bytes = 0;
  uint8_t codec = 0;
  std::string_view payload;
  std::string_view meta;  // opaque to the spool: the checkpoint delta (see FORMAT.md)
  // FsyncPolicy::kBatch: leave the fdatasync to the caller's next Sync(), so several frames
  // share one (group commit). The frame becomes readable (shippable) at that Sync: a frame
  // sent before it is durable could be lost to a power cut after the collector stored it,
  // and its lines, read again, would come back with new observed times.
  bool defer_sync = false;
};

struct SpooledFrame {
  uint64_t sequence = 0;
  uint32_t record_count = 0;
  uint32_t uncompressed_bytes = 0;
  uint8_t codec = 0;
  std::string payload;
};

// What Open found on disk.
struct SpoolRecovery {
  uint64_t segments = 0;
  uint64_t frames = 0;          // valid frames found
  uint64_t unacked_frames = 0;  // of which still to send
  uint64_t corrupt_frames = 0;  // damaged frames skipped (lost)
  uint64_t torn_bytes = 0;      // bytes cut or skipped
};

class Spool {
 public:
  static Result<std::unique_ptr<Spool>> Open(const SpoolOptions& options);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // ---- writer thread (recovery accessors and MarkCheckpointed: the loop) ----
  // Appends one frame and returns its sequence. ResourceExhausted when the spool is full
  // or the disk is (nothing is written then; retry later); IoError on other failures.
  Result<uint64_t> Append(const AppendRequest& request);
  // fsync the segment being written (kInterval: on a timer; kBatch: after deferred appends).
  Status Sync();
  // Calls fn(sequence, meta) for every recovered frame with sequence > after, in order.
  // Call once, right after Open, before appending.
  Status ForEachRecoveredMetaAfter(uint64_t after, const std::function<void(uint64_t, std::string_view)>& fn);
  // Sequences handed out from now on are > `sequence` (the checkpoint file's), so a lost
  // `acked` file can never make new frames look older than the checkpoint.
  void EnsureSequenceAbove(uint64_t sequence);
  // The checkpoint file now covers every frame up to `sequence`.
  void MarkCheckpointed(uint64_t sequence);

  // ---- shipper thread ----
  // Smallest sequence not yet acknowledged (NextSequence() when all are).
  uint64_t FirstUnacked() const;
  // One past the last readable frame: appended and, with fsync batch or interval, durable.
  uint64_t NextSequence() const;
  // Waits until a frame with sequence >= `sequence` has been appended; false on timeout.
  bool WaitForFrame(uint64_t sequence, std::chrono::milliseconds timeout) const;
  // The unacked frame `sequence`; NotFound if acked, skipped as corrupt, or not yet written.
  Result<SpooledFrame> Read(uint64_t sequence);
  void Ack(uint64_t sequence);

  // ---- any thread ----
  uint64_t Bytes() const;
  uint64_t UnackedFrames() const;
  const SpoolRecovery& recovery() const { return recovery_; }

 private:
  struct Segment {
    uint64_t first_sequence = 0;
    uint64_t last_sequence = 0;  // 0 while empty
    std::string path;
    UniqueFd fd;
    uint64_t size = 0;
  };
  struct FrameRef {
    Segment* segment;
    uint64_t offset;
    FrameHeader header;
  };

  explicit Spool(SpoolOptions options) : options_(std::move(options)) {}
  // Runs in Open, before the spool is shared: no other thread can see its members yet.
  Status Recover() NO_THREAD_SAFETY_ANALYSIS;
  Status StartSegment(uint64_t first_sequence);        // writer thread
  void DeleteReclaimableSegmentsLocked() REQUIRES(mu_);
  void PersistAckedLocked() REQUIRES(mu_);
  uint64_t FirstUnackedLocked() const REQUIRES(mu_);

  const SpoolOptions options_;
  SpoolRecovery recovery_;
  std::vector<FrameRef> recovered_;  // writer thread only, until ForEachRecoveredMetaAfter

  mutable Mutex mu_;
  mutable CondVar appended_;
  std::list<Segment> segments_ GUARDED_BY(mu_);  // oldest first, back() is active
  std::map<uint64_t, FrameRef> unacked_ GUARDED_BY(mu_);
  uint64_t next_sequence_ GUARDED_BY(mu_) = 1;
  uint64_t readable_end_ GUARDED_BY(mu_) = 1;  // frames below it may be read
  uint64_t checkpointed_ GUARDED_BY(mu_) = 0;
  uint64_t bytes_ GUARDED_BY(mu_) = 0;
  uint64_t persisted_acked_ GUARDED_BY(mu_) = 0;
  // The segment appends go to; written by the writer thread only, and only the writer
  // deletes it (when recycling it in Append). Null after a failed StartSegment.
  Segment* active_ = nullptr;
  std::string scratch_;                  // writer thread only
};

}  // namespace logship::spool
