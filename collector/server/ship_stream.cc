#include "collector/server/ship_stream.h"

namespace logship::collector {

IngestService::Stream::Stream(IngestService& service, grpc::CallbackServerContext* context, WorkPool& pool)
    : service_(service),
      decode_queue_(OrderedJobQueue::Create(pool)),
      write_queue_(OrderedJobQueue::Create(pool, static_cast<int>(service.settings()->limits.stream_writes_in_flight))) {
  caller_.context = context;
  caller_.peer = context->peer();
  if (auto it = context->client_metadata().find("user-agent"); it != context->client_metadata().end())
    caller_.user_agent.assign(it->second.data(), std::min<size_t>(it->second.size(), 256));
}

void IngestService::Stream::Start() {
  grpc::CallbackServerContext* context = caller_.context;
  {
    // Pinned until the first decision: a Drain that finds the stream registered must not
    // finish it while the initial metadata is still being sent.
    MutexLock lock(mu_);
    ++starting_;
  }
  grpc::Status refused;
  if (!service_.Register(this))
    refused = grpc::Status(grpc::StatusCode::UNAVAILABLE, "the collector is stopping; reconnect");
  else
    refused = AuthenticateCall(*service_.settings(), context, &caller_.authenticated, service_.auth_failures_);
  if (!refused.ok()) {
    {
      MutexLock lock(mu_);
      --starting_;
      finished_ = true;
    }
    Finish(refused);
    return;
  }
  caller_.principal = Principal(caller_.authenticated, context);
  // The limits, before the first ack: an agent fits (splits) its frames to them instead of
  // sending one that can never be taken.
  const Limits& l = service_.settings()->limits;
  context->AddInitialMetadata("logship-max-frame-bytes", std::to_string(l.max_frame_bytes));
  context->AddInitialMetadata("logship-max-uncompressed-bytes", std::to_string(l.max_uncompressed_bytes));
  context->AddInitialMetadata("logship-max-records", std::to_string(l.max_records));
  StartSendInitialMetadata();
  Next n;
  {
    MutexLock lock(mu_);
    --starting_;
    n = NextLocked();
  }
  Run(std::move(n));
}

IngestService::Stream::Next IngestService::Stream::NextLocked() {
  Next n;
  if (finished_) return n;
  const bool stop_reading = read_closed_ || broken_ || failure_ || draining_;
  if (!reading_ && !taking_ && !stop_reading && waiting_ == nullptr &&
      held_ < static_cast<int>(service_.settings()->limits.stream_frames_in_flight)) {
    // Frames are fresh each time: reusing one would keep each idle stream's largest batch
    // allocated, and with many streams that is most of the process's memory.
    read_into_ = std::make_unique<logship::v1::BatchFrame>();
    reading_ = true;
    n.read = read_into_.get();
    ++starting_;
  }
  if (broken_) acks_.clear();
  if (!writing_ && !acks_.empty()) {
    sending_ = std::move(acks_.front());
    acks_.pop_front();
    writing_ = true;
    n.write = &sending_;
    ++starting_;
  }
  const bool idle = !taking_ && waiting_ == nullptr && held_ == 0 && !writing_ && acks_.empty() && starting_ == 0;
  if (!idle) return n;
  if (failure_) n.finish = *failure_;
  else if (broken_) n.finish = grpc::Status(grpc::StatusCode::CANCELLED, "stream cancelled");
  else if (read_closed_ || draining_) n.finish = grpc::Status::OK;
  if (n.finish) finished_ = true;
  return n;
}

void IngestService::Stream::Run(Next n) {
  while (!n.empty()) {
    if (n.finish) {
      Finish(*n.finish);
      return;  // OnDone may already have deleted `this`
    }
    int started = 0;
    if (n.read != nullptr) {
      StartRead(n.read);
      ++started;
    }
    if (n.write != nullptr) {
      StartWrite(n.write);
      ++started;
    }
    MutexLock lock(mu_);
    starting_ -= started;
    n = NextLocked();
  }
}

void IngestService::Stream::Decide() {
  Next n;
  {
    MutexLock lock(mu_);
    n = NextLocked();
  }
  Run(std::move(n));
}

void IngestService::Stream::OnReadDone(bool ok) {
  std::unique_ptr<logship::v1::BatchFrame> frame;
  {
    MutexLock lock(mu_);
    reading_ = false;
    if (finished_) return;
    if (!ok) {
      read_closed_ = true;
    } else {
      frame = std::move(read_into_);
      taking_ = true;  // no read, no finish, until the frame is admitted or refused
    }
  }
  if (frame == nullptr) return Decide();
  auto f = std::make_shared<Frame>();
  f->settings = service_.settings();
  if (grpc::Status st = service_.Authorize(caller_, *f->settings, *frame); !st.ok()) {
    {
      MutexLock lock(mu_);
      taking_ = false;
      if (!failure_) failure_ = st;
    }
    return Decide();
  }
  f->cost = Cost(*f->settings, *frame);
  f->frame = std::move(frame);
  const uint64_t cost = f->cost;
  {
    MutexLock lock(mu_);
    taking_ = false;
    waiting_ = f;  // before asking: a Release on another thread may grant it at once
  }
  // (A reaction: gRPC keeps `this` alive until it returns.)
  const uint64_t ticket = service_.budget().AcquireOrQueue(cost, [this, f] { Admit(f); });
  if (ticket == 0) return Admit(f);
  MutexLock lock(mu_);
  if (waiting_ == f) ticket_ = ticket;
}

// Every function below that runs off a reaction (a pool thread, a budget grant) changes state
// and decides what next in one locked section: between two sections another thread could
// finish the call.
void IngestService::Stream::Admit(std::shared_ptr<Frame> f) {
  Next n;
  {
    MutexLock lock(mu_);
    if (broken_ || failure_) {
      // waiting_ stays set (the stream cannot finish) until the budget is given back.
      ticket_ = 0;
    } else {
      waiting_.reset();
      ticket_ = 0;
      ++held_;
      n = NextLocked();
      decode_queue_->Post([this, f] { DecodeJob(f); });
      f.reset();
    }
  }
  if (f != nullptr) {  // dropped
    service_.budget().Release(f->cost);
    MutexLock lock(mu_);
    waiting_.reset();
    ticket_ = 0;
    n = NextLocked();
  }
  Run(std::move(n));
}

void IngestService::Stream::Drop(uint64_t cost) {
  service_.budget().Release(cost);
  Next n;
  {
    MutexLock lock(mu_);
    --held_;
    n = NextLocked();
  }
  Run(std::move(n));
}

void IngestService::Stream::DecodeJob(const std::shared_ptr<Frame>& f) {
  bool skip = false;
  {
    // A frame after one that ended the stream, or on a stream that is gone: the agent sends
    // it again on its next stream.
    MutexLock lock(mu_);
    skip = broken_ || failure_.has_value();
  }
  if (skip) return Drop(f->cost);
  auto work = std::make_shared<Work>();
  if (grpc::Status st = service_.Decode(caller_, f->settings, *f->frame, work.get()); !st.ok()) {
    {
      MutexLock lock(mu_);
      if (!failure_) failure_ = st;
    }
    return Drop(f->cost);
  }
  work->cost = f->cost;
  service_.Account(caller_, *work, f->frame->uncompressed_bytes());
  service_.KeepFrame(caller_, std::move(f->frame), work.get());  // else freed: not needed while writing
  // With no next frame waiting to be decoded, write here rather than hand over to another
  // thread: a fleet of quiet agents sends one frame at a time, and each hand-off is a wake-up.
  // Frames that arrive meanwhile are decoded on another thread, as the write may block.
  // `this` may be gone once the write is done.
  const auto writes = write_queue_;
  const auto decodes = decode_queue_;
  if (decodes->NothingQueued() &&
      writes->RunHereIfIdle([this, work] { WriteJob(work); }, [&decodes] { decodes->ReleaseRunner(); }))
    return;
  writes->Post([this, work] { WriteJob(work); });
}

void IngestService::Stream::WriteJob(const std::shared_ptr<Work>& work) {
  logship::v1::BatchAck ack = service_.Write(*work);
  Next n;
  {
    MutexLock lock(mu_);
    --held_;
    if (!broken_) acks_.push_back(std::move(ack));
    n = NextLocked();
  }
  Run(std::move(n));
}

void IngestService::Stream::OnWriteDone(bool ok) {
  {
    MutexLock lock(mu_);
    writing_ = false;
    if (!ok) broken_ = true;  // the agent is gone: it sends the unacked frames again
  }
  Decide();
}

void IngestService::Stream::OnCancel() {
  uint64_t ticket = 0;
  {
    MutexLock lock(mu_);
    broken_ = true;
    ticket = ticket_;
  }
  // A frame still queued for budget never got any: forget it. One already granted is
  // dropped by Admit.
  if (ticket != 0 && service_.budget().Cancel(ticket)) {
    MutexLock lock(mu_);
    waiting_.reset();
    ticket_ = 0;
  }
  Decide();
}

void IngestService::Stream::OnDone() {
  service_.Unregister(this);
  std::unique_ptr<Stream> self(this);  // gRPC is done with it; see the header
}

bool IngestService::Stream::BeginDrain() {
  MutexLock lock(mu_);
  if (finished_) return false;
  draining_ = true;
  ++starting_;  // pins the stream until RunDrain
  return true;
}

void IngestService::Stream::RunDrain() {
  Next n;
  {
    MutexLock lock(mu_);
    --starting_;
    n = NextLocked();
  }
  Run(std::move(n));
}

}  // namespace logship::collector
