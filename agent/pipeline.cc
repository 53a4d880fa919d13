#include "agent/pipeline.h"

#include "common/log.h"
#include "logship/v1/ingest.pb.h"

namespace logship::agent {
namespace {
constexpr std::string_view kComponent = "pipeline";
constexpr uint64_t kRetryMs = 100;
// The checkpoint file is rewritten at most this often: each spooled frame already carries
// its positions, so the file only bounds how much recovery replays and gates segment
// deletion. (With 1,000 files, rewriting it per batch dominated an idle agent's CPU.)
constexpr uint64_t kCheckpointEveryMs = 1000;
}  // namespace

Pipeline::Pipeline(uv_loop_t* loop, const AgentConfig& config, spool::Spool& spool, CheckpointStore& checkpoints)
    : loop_(loop),
      config_(config),
      spool_(spool),
      checkpoints_(checkpoints),
      batcher_(config.batch, config.compression_level, config.agent_id, config.host) {}

void Pipeline::Start() {
  for (auto* t : {&linger_timer_, &retry_timer_, &fsync_timer_, &checkpoint_timer_}) {
    uv_timer_init(loop_, t->get());
    t->MarkInitialized();
    t->get()->data = this;
  }
  uv_timer_start(
      checkpoint_timer_.get(),
      [](uv_timer_t* t) {
        auto* self = static_cast<Pipeline*>(t->data);
        if (self->unsaved_sequence_ != 0) self->SaveCheckpoints(self->unsaved_sequence_);
      },
      kCheckpointEveryMs, kCheckpointEveryMs);
  if (config_.spool.fsync == spool::FsyncPolicy::kInterval) {
    const auto ms = static_cast<uint64_t>(config_.fsync_interval.count());
    uv_timer_start(
        fsync_timer_.get(),
        [](uv_timer_t* t) {
          auto* self = static_cast<Pipeline*>(t->data);
          if (Status s = self->spool_.Sync(); !s.ok()) LogWarn(kComponent, "spool fsync failed: " + s.message());
        },
        ms, ms);
  }
}

void Pipeline::Stop() {
  if (unsaved_sequence_ != 0) SaveCheckpoints(unsaved_sequence_);
  checkpoint_timer_.Close();
  linger_timer_.Close();
  retry_timer_.Close();
  fsync_timer_.Close();
}

void Pipeline::Emit(const LineRecord& record) {
  const bool was_empty = batcher_.empty();
  const bool full = batcher_.Add(record);
  if (full) {
    SealCurrent();
  } else if (was_empty) {
    uv_timer_start(
        linger_timer_.get(), [](uv_timer_t* t) { static_cast<Pipeline*>(t->data)->SealCurrent(); },
        static_cast<uint64_t>(config_.batch.linger.count()), 0);
  }
}

void Pipeline::SealCurrent() {
  uv_timer_stop(linger_timer_.get());
  // Frames must enter the spool in order, so a new batch waits behind a held one.
  if (held_ || batcher_.empty()) return;
  auto sealed = batcher_.Seal();
  if (!sealed.ok()) {
    // Cannot happen with valid records; losing the batch silently would be worse than dying.
    LogError(kComponent, "cannot encode batch: " + sealed.status().message());
    std::abort();
  }
  held_ = std::move(sealed).value();
  if (!AppendHeld()) {
    SetSourcesPaused(true);
    uv_timer_start(
        retry_timer_.get(),
        [](uv_timer_t* t) {
          auto* self = static_cast<Pipeline*>(t->data);
          if (self->AppendHeld()) {
            uv_timer_stop(t);
            self->SetSourcesPaused(false);
            if (self->batcher_.records() >= self->config_.batch.max_records) self->SealCurrent();
            else if (!self->batcher_.empty())
              uv_timer_start(self->linger_timer_.get(), [](uv_timer_t* lt) { static_cast<Pipeline*>(lt->data)->SealCurrent(); },
                             static_cast<uint64_t>(self->config_.batch.linger.count()), 0);
          }
        },
        kRetryMs, kRetryMs);
  }
}

bool Pipeline::AppendHeld() {
  spool::AppendRequest req;
  req.record_count = held_->record_count;
  req.uncompressed_bytes = held_->uncompressed_bytes;
  req.codec = static_cast<uint8_t>(logship::v1::CODEC_ZSTD);
  req.payload = held_->payload;
  req.meta = held_->meta;
  auto seq = spool_.Append(req);
  if (!seq.ok()) {
    if (!warned_full_) {
      LogWarn(kComponent, "cannot spool batch, pausing sources until it fits: " + seq.status().message());
      warned_full_ = true;
    }
    return false;
  }
  if (warned_full_) LogInfo(kComponent, "spool accepts batches again; resuming sources");
  warned_full_ = false;
  records_spooled_ += held_->record_count;
  checkpoints_.Apply(held_->delta);
  held_.reset();
  unsaved_sequence_ = *seq;  // saved by checkpoint_timer_ (or Stop)
  return true;
}

void Pipeline::SaveCheckpoints(uint64_t sequence) {
  Status s = checkpoints_.Save(sequence, config_.spool.fsync == spool::FsyncPolicy::kBatch);
  if (s.ok()) {
    spool_.MarkCheckpointed(sequence);
    if (checkpoint_save_failing_) LogInfo(kComponent, "checkpoints saved again");
    checkpoint_save_failing_ = false;
    unsaved_sequence_ = 0;
    return;
  }
  // A failure (disk full) only delays segment deletion; the timer tries again.
  if (!checkpoint_save_failing_)
    LogWarn(kComponent, "cannot save checkpoints (positions stay in the spool; retrying): " + s.message());
  checkpoint_save_failing_ = true;
}

bool Pipeline::Flush() {
  SealCurrent();
  if (held_ && AppendHeld()) SealCurrent();
  return !held_ && batcher_.empty();
}

void Pipeline::SetSourcesPaused(bool paused) {
  blocked_ = paused;
  if (paused == sources_paused_ && paused) return;
  sources_paused_ = paused;
  for (auto* s : sources_) {
    if (paused) s->Pause(); else s->Resume();
  }
}

}  // namespace logship::agent
