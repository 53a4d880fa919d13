// One logship.v1.Ingest/Ship call, as a gRPC callback reactor (internal to ingest_service.cc).
//
// States, under mu_: a read is outstanding (reading_) or a frame just read is being checked
// (taking_); a frame waits for budget (waiting_); held_ frames are being decoded or written
// (decoded in order; up to limits.stream_writes_in_flight written at once, so acks may leave
// out of order); acks_ wait to be sent, one gRPC write at a time (writing_). A stream reads its next frame only
// when it holds fewer than limits.stream_frames_in_flight and nothing waits for budget.
//
// Lifetime: gRPC owns the reactor from Ship() until OnDone(), which deletes it. OnDone comes
// only after Finish and after every operation started has completed. Every decision is made
// under mu_ and acted on after it is released (a Start* call may run a reaction inline);
// Finish is decided once (finished_) and is the last thing its caller does with `this`, and
// it is never decided while a Start* call is about to be made (starting_) or a frame is in
// hand (taking_, waiting_, held_).
#pragma once

#include <deque>
#include <memory>
#include <optional>

#include "collector/server/ingest_service.h"
#include "collector/server/ordered_job_queue.h"

namespace logship::collector {

// What one Ship call knows about its caller, and the decoder for the settings in force.
struct IngestService::Caller {
  grpc::CallbackServerContext* context = nullptr;
  std::string peer;
  std::string user_agent;
  std::string authenticated;  // the token's agent (kFleetAgent for a fleet token), or ""
  std::string principal;      // what record ids bind to (record_identity.h)
  // Decode queue only:
  std::shared_ptr<const IngestSettings> decoder_settings;  // the settings `decoder` was made for
  std::optional<FrameDecoder> decoder;
  metrics::Counter* received = nullptr;  // records_received_total for received_agent
  std::string received_agent;
  // The console's view of this stream: opened at its first frame, closed on every way out.
  AgentRegistry* presence = nullptr;
  std::string presence_agent;
  ~Caller() {
    if (presence != nullptr) presence->StreamClosed(presence_agent);
  }
};

class IngestService::Stream final : public grpc::ServerBidiReactor<logship::v1::BatchFrame, logship::v1::BatchAck> {
 public:
  Stream(IngestService& service, grpc::CallbackServerContext* context, WorkPool& pool);
  // Right after construction, on the handler's thread: authenticates, announces the limits,
  // starts reading.
  void Start();
  // The service's mu_ is held: marks the stream draining. Returns what to do after the
  // service's lock is released (RunDrain); false when nothing.
  bool BeginDrain();
  void RunDrain();

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  // A frame read and checked, with the settings it arrived under and the budget it needs.
  struct Frame {
    std::unique_ptr<logship::v1::BatchFrame> frame;
    std::shared_ptr<const IngestSettings> settings;
    uint64_t cost = 0;
  };
  // Operations decided under mu_, to be started after it is released.
  struct Next {
    logship::v1::BatchFrame* read = nullptr;
    const logship::v1::BatchAck* write = nullptr;
    std::optional<grpc::Status> finish;
    bool empty() const { return read == nullptr && write == nullptr && !finish; }
  };
  Next NextLocked() REQUIRES(mu_);
  // Starts what `next` says, then decides again until nothing is left. May finish the call:
  // the caller must not touch `this` afterwards.
  void Run(Next next);
  void Decide();  // NextLocked + Run
  void Admit(std::shared_ptr<Frame> frame);  // its budget is held
  void DecodeJob(const std::shared_ptr<Frame>& frame);
  void WriteJob(const std::shared_ptr<Work>& work);
  void Drop(uint64_t cost);  // a held frame that will not be written: release, forget

  IngestService& service_;
  Caller caller_;
  std::shared_ptr<OrderedJobQueue> decode_queue_;
  std::shared_ptr<OrderedJobQueue> write_queue_;

  Mutex mu_;
  std::unique_ptr<logship::v1::BatchFrame> read_into_ GUARDED_BY(mu_);
  bool reading_ GUARDED_BY(mu_) = false;
  bool taking_ GUARDED_BY(mu_) = false;
  bool read_closed_ GUARDED_BY(mu_) = false;
  std::shared_ptr<Frame> waiting_ GUARDED_BY(mu_);  // for budget
  uint64_t ticket_ GUARDED_BY(mu_) = 0;             // its place in the budget's queue
  int held_ GUARDED_BY(mu_) = 0;
  std::deque<logship::v1::BatchAck> acks_ GUARDED_BY(mu_);
  logship::v1::BatchAck sending_ GUARDED_BY(mu_);
  bool writing_ GUARDED_BY(mu_) = false;
  int starting_ GUARDED_BY(mu_) = 0;
  bool broken_ GUARDED_BY(mu_) = false;  // cancelled or an ack could not be sent
  std::optional<grpc::Status> failure_ GUARDED_BY(mu_);
  bool draining_ GUARDED_BY(mu_) = false;
  bool finished_ GUARDED_BY(mu_) = false;
};

}  // namespace logship::collector
