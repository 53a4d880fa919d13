#include "agent/flow/flow.h"

#include <cstdlib>

#include "common/log.h"
#include "logship/v1/ingest.pb.h"

namespace logship::agent {
namespace {
constexpr std::string_view kComponent = "flow";
// Batches waiting for the writer to compress them before sources pause: enough to keep it
// busy while the loop fills the next one, few enough to keep memory flat. Four small ones
// (a trickle sealed by linger), or batch.max_bytes of them (a full one being compressed and
// the next): the loop fills a batch faster than the writer compresses one, so more would
// only hold megabytes.
constexpr size_t kMaxUncompressedBatches = 4;
// The checkpoint file is rewritten at most this often: each spooled frame already carries
// its positions, so the file only bounds how much recovery replays and gates segment
// deletion. (With 1,000 files, rewriting it per batch dominated an idle agent's CPU.)
constexpr uint64_t kCheckpointEveryMs = 1000;
// A file first seen is saved sooner: a crash and a rotation while down would otherwise hide
// a file that was never read. Coalesced, so a burst of new files costs one write.
constexpr uint64_t kFirstSightSaveMs = 100;
}  // namespace

Flow::Flow(uv_loop_t* loop, FlowOptions options, spool::Spool& spool, CheckpointStore& checkpoints)
    : loop_(loop),
      options_(std::move(options)),
      spool_(spool),
      checkpoints_(checkpoints),
      batcher_(options_.batch, options_.agent_id, options_.host),
      last_sequence_(checkpoints.spool_sequence()) {}

void Flow::Start() {
  uv_async_init(loop_, appended_async_.get(), [](uv_async_t* a) { static_cast<Flow*>(a->data)->OnAppended(); });
  appended_async_.MarkInitialized();
  appended_async_.get()->data = this;
  writer_ = std::make_unique<SpoolWriter>(
      spool_, SpoolWriterOptions{options_.compression_level, options_.fsync, options_.fsync_interval},
      [async = appended_async_.get()] { uv_async_send(async); });
  for (auto* t : {&linger_timer_, &checkpoint_timer_, &first_sight_timer_}) {
    uv_timer_init(loop_, t->get());
    t->MarkInitialized();
    t->get()->data = this;
  }
  uv_timer_start(
      checkpoint_timer_.get(),
      [](uv_timer_t* t) {
        auto* self = static_cast<Flow*>(t->data);
        if (self->unsaved_) self->SaveCheckpoints();
      },
      kCheckpointEveryMs, kCheckpointEveryMs);
}

void Flow::Stop() {
  if (writer_) {
    writer_->Stop();  // before the async handle it calls closes
    OnAppended();
    writer_.reset();
  }
  if (unsaved_) SaveCheckpoints();
  appended_async_.Close();
  checkpoint_timer_.Close();
  first_sight_timer_.Close();
  linger_timer_.Close();
}

void Flow::Emit(const LineRecord& record) {
  const bool was_empty = batcher_.empty();
  const bool full = batcher_.Add(record);
  if (full) {
    SealCurrent();
  } else if (was_empty) {
    StartLinger();
  }
}

void Flow::PositionsMoved(PositionTracker& tracker) {
  const bool was_empty = batcher_.empty();
  batcher_.Touch(&tracker);
  if (was_empty) StartLinger();
}

void Flow::ApplyNow(std::string_view type, std::string delta) {
  if (Status s = checkpoints_.ApplyState(type, delta); !s.ok()) LogError(kComponent, s.message());
  unsaved_ = true;
  if (!first_sight_timer_.initialized() || uv_is_active(first_sight_timer_.handle())) return;
  uv_timer_start(
      first_sight_timer_.get(),
      [](uv_timer_t* t) {
        auto* self = static_cast<Flow*>(t->data);
        if (self->unsaved_) self->SaveCheckpoints();
      },
      kFirstSightSaveMs, 0);
}

void Flow::StartLinger() {
  uv_timer_start(
      linger_timer_.get(), [](uv_timer_t* t) { static_cast<Flow*>(t->data)->SealCurrent(); },
      static_cast<uint64_t>(options_.batch.linger.count()), 0);
}

void Flow::CaughtUp() {
  if (batcher_.WorthSealing()) SealCurrent();
}

void Flow::SealCurrent() {
  uv_timer_stop(linger_timer_.get());
  if (batcher_.empty() || !writer_) return;
  auto filled = batcher_.Take();
  if (!filled.ok()) {
    // Cannot happen with valid records; losing the batch silently would be worse than dying.
    LogError(kComponent, "cannot encode batch: " + filled.status().message());
    std::abort();
  }
  writer_->Submit(std::move(filled).value());
  if (WriterBacklogged()) SetSourcesPaused(true);
}

bool Flow::WriterBacklogged() const {
  return writer_->Uncompressed() >= kMaxUncompressedBatches ||
         writer_->UncompressedBytes() >= options_.batch.max_bytes;
}

void Flow::OnAppended() {
  if (!writer_) return;
  for (auto& a : writer_->TakeAppended()) {
    records_spooled_ += a.record_count;
    checkpoints_.Apply(a.delta);
    if (a.sequence != 0) last_sequence_ = a.sequence;
    unsaved_ = true;  // saved by checkpoint_timer_ (or Stop)
  }
  blocked_ = writer_->refused();
  if (sources_paused_ && !WriterBacklogged()) SetSourcesPaused(false);
}

void Flow::SaveCheckpoints() {
  Status s = checkpoints_.Save(last_sequence_, options_.fsync == spool::FsyncPolicy::kBatch);
  if (s.ok()) {
    spool_.MarkCheckpointed(last_sequence_);
    if (checkpoint_save_failing_) LogInfo(kComponent, "checkpoints saved again");
    checkpoint_save_failing_ = false;
    unsaved_ = false;
    return;
  }
  // A failure (disk full) only delays segment deletion; the timer tries again.
  if (!checkpoint_save_failing_)
    LogWarn(kComponent, "cannot save checkpoints (positions stay in the spool; retrying): " + s.message());
  checkpoint_save_failing_ = true;
}

bool Flow::Flush() {
  SealCurrent();
  if (!writer_) return batcher_.empty();
  // Bounded: the writer stops waiting as soon as the spool refuses.
  const bool drained = writer_->WaitIdle(std::chrono::seconds(30));
  OnAppended();
  return drained && batcher_.empty();
}

Status Flow::Checkpoint() {
  Flush();
  Status s = checkpoints_.Save(last_sequence_, options_.fsync == spool::FsyncPolicy::kBatch);
  if (s.ok()) unsaved_ = false;
  return s;
}

void Flow::SetSourcesPaused(bool paused) {
  if (paused == sources_paused_) return;
  sources_paused_ = paused;
  for (auto* s : sources_) {
    if (paused) s->Pause(); else s->Resume();
  }
}

}  // namespace logship::agent
