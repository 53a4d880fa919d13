// The agent's loop-side pipeline: sources → Batcher → Spool, and the checkpoint that
// follows each spooled frame. It is the sources' Emitter.
//
// Backpressure: when the spool refuses a batch (full, or the disk is), the sealed batch is
// held, every source is paused, and the append is retried on a timer; sources resume
// once it succeeds. Nothing is dropped.
//
// Loop thread only. Spool, CheckpointStore and the sources must outlive the pipeline.
#pragma once

#include <uv.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <vector>

#include "agent/agent_config.h"
#include "agent/batcher/batcher.h"
#include "agent/checkpoint/checkpoint_store.h"
#include "agent/sources/source.h"
#include "agent/spool/spool.h"
#include "agent/uv_handle.h"

namespace logship::agent {

class Pipeline final : public Emitter {
 public:
  Pipeline(uv_loop_t* loop, const AgentConfig& config, spool::Spool& spool, CheckpointStore& checkpoints);

  void AddSource(Source* source) { sources_.push_back(source); }
  void Start();
  // Seals and spools whatever is batched (used at shutdown); true when nothing is left over.
  bool Flush();
  void Stop();

  void Emit(const LineRecord& record) override;
  bool Accepting() const override { return !held_.has_value(); }

  // Any thread (metrics).
  uint64_t records_spooled() const { return records_spooled_.load(); }
  bool blocked() const { return blocked_.load(); }

 private:
  void SealCurrent();
  bool AppendHeld();  // true when the held batch reached the spool
  void SaveCheckpoints(uint64_t sequence);
  void SetSourcesPaused(bool paused);

  uv_loop_t* loop_;
  const AgentConfig& config_;
  spool::Spool& spool_;
  CheckpointStore& checkpoints_;
  Batcher batcher_;
  std::vector<Source*> sources_;
  std::optional<SealedBatch> held_;     // sealed but not yet in the spool
  bool sources_paused_ = false;
  bool warned_full_ = false;
  std::atomic<uint64_t> records_spooled_{0};
  std::atomic<bool> blocked_{false};
  UvHandle<uv_timer_t> linger_timer_;
  UvHandle<uv_timer_t> retry_timer_;
  UvHandle<uv_timer_t> fsync_timer_;
  UvHandle<uv_timer_t> checkpoint_timer_;
  uint64_t unsaved_sequence_ = 0;        // spooled frames after the checkpoint file; 0 = none
  bool checkpoint_save_failing_ = false;
};

}  // namespace logship::agent
