// The agent's flow: sources → Batcher (loop thread) → SpoolWriter (its own thread:
// compress, append, fsync) → Spool, and the checkpoint that follows each spooled frame.
// It is the sources' Emitter.
//
// Backpressure: once four batches, or batch.max_bytes of them, wait for the writer to compress
// them (it is slower than the sources, or the spool refuses them: full, or the disk is), every
// source is paused; they resume when the writer catches up. Nothing is dropped.
//
// Loop thread only. Spool, CheckpointStore and the sources must outlive the flow.
#pragma once

#include <uv.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <vector>

#include "agent/checkpoint/checkpoint_store.h"
#include "agent/flow/batcher.h"
#include "agent/flow/spool_writer.h"
#include "agent/sources/source.h"
#include "agent/spool/spool.h"
#include "agent/uv_handle.h"

namespace logship::agent {

struct FlowOptions {
  BatchConfig batch;
  std::string agent_id;
  std::string host;
  int compression_level = 1;
  spool::FsyncPolicy fsync = spool::FsyncPolicy::kBatch;
  std::chrono::milliseconds fsync_interval{1000};
};

class Flow final : public Emitter {
 public:
  Flow(uv_loop_t* loop, FlowOptions options, spool::Spool& spool, CheckpointStore& checkpoints);

  void AddSource(Source* source) { sources_.push_back(source); }
  void Start();
  // Seals and spools whatever is batched and waits for the writer (used at shutdown); true
  // when nothing is left over.
  bool Flush();
  // Flush(), then writes the checkpoint file at once.
  Status Checkpoint();
  void Stop();

  void Emit(const LineRecord& record) override;
  bool Accepting() const override { return !sources_paused_; }
  // Seals the batch at once when it is worth it (Batcher::WorthSealing: a thousand records or
  // half full): lingering for more lines would only add latency (a trickle still lingers, so
  // small batches do not multiply).
  void CaughtUp() override;
  void PositionsMoved(PositionTracker& tracker) override;
  // Applied at once; the checkpoint file is written within kFirstSightSaveMs.
  void ApplyNow(std::string_view type, std::string delta) override;

  // Any thread (metrics).
  uint64_t records_spooled() const { return records_spooled_.load(); }
  bool blocked() const { return blocked_.load(); }

 private:
  void SealCurrent();
  void OnAppended();  // the writer made progress (or started refusing)
  void SaveCheckpoints();
  void StartLinger();
  void SetSourcesPaused(bool paused);
  // Enough waits for the writer that sources should pause (see the top of this file).
  bool WriterBacklogged() const;

  uv_loop_t* loop_;
  const FlowOptions options_;
  spool::Spool& spool_;
  CheckpointStore& checkpoints_;
  Batcher batcher_;
  std::vector<Source*> sources_;
  bool sources_paused_ = false;
  std::atomic<uint64_t> records_spooled_{0};
  std::atomic<bool> blocked_{false};
  UvHandle<uv_async_t> appended_async_;  // the writer's wake-up call to this loop
  std::unique_ptr<SpoolWriter> writer_;  // from Start() to Stop()
  UvHandle<uv_timer_t> linger_timer_;
  UvHandle<uv_timer_t> checkpoint_timer_;
  UvHandle<uv_timer_t> first_sight_timer_;  // a prompt save after files were first seen
  uint64_t last_sequence_ = 0;           // the newest spooled frame whose positions are applied
  bool unsaved_ = false;                 // positions applied since the checkpoint file was written
  bool checkpoint_save_failing_ = false;
};

}  // namespace logship::agent
