// The pipeline's second stage, on its own thread: compresses serialized batches (zstd)
// and appends them to the spool in the order they were submitted. Compression and fsync
// then overlap with reading and splitting on the loop thread.
//
// Group commit: the writer takes every batch waiting when it starts a round, appends them
// all (and those submitted meanwhile, up to four), then fsyncs once (fsync: batch) before
// reporting any of them as spooled. A batch is reported only once it is durable, so
// checkpoints never run ahead of the disk, and the spool lets the shipper read it only then
// (AppendRequest::defer_sync).
//
// When the spool refuses a frame (full, or the disk is) the writer keeps it and tries again
// every 100 ms; nothing is dropped. Batches still queued at Stop() are not spooled: their
// lines were never checkpointed, so they are read again on the next start.
//
// Threads: Submit, TakeAppended, Pending, Uncompressed(Bytes), refused and WaitIdle are for
// the loop thread; the writer thread is the spool's writer (Append, Sync) and calls `notify`
// (which must be thread-safe, e.g. uv_async_send) after each round and when the spool starts
// refusing.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "agent/flow/batch_encoder.h"
#include "agent/flow/batcher.h"
#include "agent/spool/spool.h"
#include "common/thread/mutex.h"

namespace logship::agent {

struct SpoolWriterOptions {
  int zstd_level = 1;
  spool::FsyncPolicy fsync = spool::FsyncPolicy::kBatch;
  std::chrono::milliseconds fsync_interval{1000};  // kInterval only
};

class SpoolWriter {
 public:
  struct Appended {
    uint64_t sequence = 0;  // 0: a batch of positions alone, not spooled
    uint32_t record_count = 0;
    v1::Checkpoints delta;
  };

  // `spool` must outlive the writer. The thread starts here.
  SpoolWriter(spool::Spool& spool, SpoolWriterOptions options, std::function<void()> notify);
  ~SpoolWriter();
  SpoolWriter(const SpoolWriter&) = delete;
  SpoolWriter& operator=(const SpoolWriter&) = delete;

  void Submit(FilledBatch batch);
  // Batches submitted and not yet reported as spooled (queued, or in the current round).
  size_t Pending() const;
  // Of those, the batches not compressed yet, and their serialized bytes: what pending
  // batches hold in memory (the flow bounds it).
  size_t Uncompressed() const;
  uint64_t UncompressedBytes() const;
  // Batches spooled (and durable, per the fsync policy) since the last call, oldest first.
  std::vector<Appended> TakeAppended();
  // True while the spool refuses the oldest pending batch.
  bool refused() const;
  // Waits until nothing is pending (true), the spool refuses, or `timeout` passes (false).
  bool WaitIdle(std::chrono::milliseconds timeout);
  // Joins the thread; idempotent. Pending batches are dropped (see above).
  void Stop();

 private:
  void Run();
  // Appends one batch, retrying while the spool refuses. False when stopped meanwhile.
  bool AppendOne(FilledBatch& filled);
  // Moves what was submitted meanwhile into `group` (the round goes on); false if nothing.
  bool TakeMore(std::vector<FilledBatch>& group);
  // Makes `round_` durable (fsync: batch) and reports it. False when stopped meanwhile.
  bool Commit();
  // Sleeps up to `d` unless stopping; true when stopping.
  bool SleepUnlessStopping(std::chrono::milliseconds d);

  spool::Spool& spool_;
  const SpoolWriterOptions options_;
  const std::function<void()> notify_;

  // Writer thread only.
  BatchEncoder encoder_;
  std::vector<Appended> round_;  // appended in this round, not yet committed
  bool unsynced_ = false;        // kInterval: appends since the last Sync
  std::chrono::steady_clock::time_point last_sync_;

  mutable Mutex mu_;
  CondVar wake_;     // the writer: work or stop
  CondVar changed_;  // WaitIdle: progress or refusal
  std::deque<FilledBatch> queue_ GUARDED_BY(mu_);
  size_t in_round_ GUARDED_BY(mu_) = 0;  // taken from the queue, not yet reported
  size_t uncompressed_ GUARDED_BY(mu_) = 0;          // submitted, not yet compressed
  uint64_t uncompressed_bytes_ GUARDED_BY(mu_) = 0;  // their serialized bytes
  std::vector<Appended> appended_ GUARDED_BY(mu_);
  bool refused_ GUARDED_BY(mu_) = false;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace logship::agent
