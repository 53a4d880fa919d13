// logship.v1.Ingest: receives frames on a Ship stream, decodes them, runs the pipeline,
// writes them to every sink, and acks each frame only after all sinks committed it.
//
// Threads: no thread per stream. Streams are gRPC callback reactors (ship_stream.h): reading
// a frame and sending an ack never block a thread. A fixed WorkPool (ingest_workers) decodes
// and writes; each stream's frames are decoded in order on one OrderedJobQueue and written
// on another (in order, or limits.stream_writes_in_flight at once), so decoding frame N+1
// overlaps writing frame N, and at most limits.stream_frames_in_flight frames of one stream
// are held at once. The sinks must be thread-safe and outlive the service. Settings (limits,
// pipeline, tokens) can be replaced at any time (UpdateSettings, on SIGHUP); a frame uses the
// settings current when it arrived.
//
// Authentication: when tokens are configured, a stream must carry "authorization: Bearer
// <token>" (else UNAUTHENTICATED), checked again on every frame against the current tokens
// (a token revoked by a reload ends its streams), and every frame's agent_id must be the
// token's agent (else PERMISSION_DENIED). Record ids are bound to the authenticated sender
// (record_identity.h). Nothing is checked per record.
//
// Limits: the stream's initial metadata announces max_frame_bytes, max_uncompressed_bytes
// and max_records, so agents split what would not fit (BatchFrame.part / parts; each part is
// acked on its own).
//
// Backpressure and fairness: a frame waits for room in the in-flight byte budget before it
// is decoded, first come first served (inflight_budget.h); meanwhile its stream reads
// nothing more, and the fixed HTTP/2 window pushes back to the agent.
//
// Outcomes per frame: OK ack; RETRY ack when a sink could not store it now; a frame that
// cannot be decoded ends the stream with INVALID_ARGUMENT (RESOURCE_EXHAUSTED for a limit)
// and names its sequence in the trailer "logship-rejected-sequence", so the agent sets
// exactly that frame aside. Frames before it are written and acked first; frames after it
// are dropped unacked (the agent sends them again).
#pragma once

#include <atomic>
#include <map>
#include <set>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "collector/delivery/batch_writer.h"
#include "collector/pipeline/pipeline.h"
#include "collector/server/agent_registry.h"
#include "collector/server/server_config.h"
#include "collector/server/agent_auth.h"
#include "collector/server/frame_decoder.h"
#include "collector/server/inflight_budget.h"
#include "collector/server/work_pool.h"
#include "collector/sinks/sink.h"
#include "common/metrics/registry.h"
#include "logship/v1/ingest.grpc.pb.h"
#include "common/thread/mutex.h"

namespace logship::collector {

struct IngestSettings {
  Limits limits;
  std::shared_ptr<const Pipeline> pipeline;
  AgentAuth auth;
};

// The agent name of a fleet token (auth.tokens[].agent "*"): it admits any agent id.
inline constexpr std::string_view kFleetAgent = "*";

// Checks the call's bearer token against `settings` (when tokens are configured). On
// success *agent is the token's agent (kFleetAgent for a fleet token; empty when no tokens
// are configured).
grpc::Status AuthenticateCall(const IngestSettings& settings, const grpc::ServerContextBase* context, std::string* agent,
                              metrics::Counter& failures);
// Who the call is, for binding record ids: the token's agent, else the common name of a
// verified client certificate (mTLS), else "" (nobody is authenticated, or a fleet token:
// then each frame binds to the agent id it claims).
std::string Principal(const std::string& token_agent, const grpc::ServerContextBase* context);

class IngestService final : public logship::v1::Ingest::CallbackService {
 public:
  // `writer` and `registry` must outlive the service. `workers`: threads that decode and
  // write (0: from the cores, see DefaultIngestWorkers).
  IngestService(std::shared_ptr<const IngestSettings> settings, BatchWriter& writer, metrics::Registry& registry,
                size_t workers = 0);
  ~IngestService() override;

  grpc::ServerBidiReactor<logship::v1::BatchFrame, logship::v1::BatchAck>* Ship(
      grpc::CallbackServerContext* context) override;

  void UpdateSettings(std::shared_ptr<const IngestSettings> settings) { settings_.store(std::move(settings)); }
  std::shared_ptr<const IngestSettings> settings() const { return settings_.load(); }
  uint64_t records_received() const { return records_received_.load(); }
  InflightBudget& budget() { return *budget_; }
  metrics::Counter& auth_failures() { return auth_failures_; }
  metrics::Registry& registry() { return registry_; }
  void CountReceived(const std::string& agent_id, uint64_t records);
  // logship_collector_records_received_total for this agent (or "_other"). Any thread.
  metrics::Counter& ReceivedCounter(const std::string& agent_id);
  // Streams and batches are reported to `agents` from now on (nullptr: no more). `agents`
  // must outlive the service's streams. Any thread.
  void SetAgentRegistry(AgentRegistry* agents) { agents_.store(agents); }
  // Ship streams open now.
  size_t streams() const;

  // Graceful stop, before Server::Shutdown: streams waiting for their next frame end now
  // (status OK; the agent reconnects elsewhere); a stream with frames in hand writes and acks
  // them, then ends. New streams are refused (UNAVAILABLE). Any thread.
  void Drain();

 private:
  class Stream;
  // A decoded batch on its way from a stream's decode queue to its write queue.
  struct Work {
    DecodedBatch batch;
    std::vector<RefusedRecord> refused;  // taken out of the batch: to the dead letter
    std::shared_ptr<const IngestSettings> settings;
    uint64_t cost = 0;  // in-flight budget held until the batch is written
  };
  struct Caller;
  // The token of this frame's call still holds, and the frame's agent is the token's.
  grpc::Status Authorize(const Caller& caller, const IngestSettings& settings, const logship::v1::BatchFrame& frame);
  // Budget a frame holds from before decoding until its batch is written.
  static uint64_t Cost(const IngestSettings& settings, const logship::v1::BatchFrame& frame);
  // Decodes (budget already held); a frame that cannot be taken ends the stream (named in
  // the trailers).
  grpc::Status Decode(Caller& caller, const std::shared_ptr<const IngestSettings>& settings,
                      const logship::v1::BatchFrame& frame, Work* out);
  void Account(Caller& caller, const Work& work, uint64_t uncompressed_bytes);
  // Keeps the frame beside its batch when a sink can forward it (DecodedBatch::received).
  void KeepFrame(const Caller& caller, std::unique_ptr<logship::v1::BatchFrame> frame, Work* work) const;
  // Writes to the sinks, releases the budget, and says what to answer.
  logship::v1::BatchAck Write(Work& work);
  // False when draining (the stream must end at once).
  bool Register(Stream* stream);
  void Unregister(Stream* stream);

  std::atomic<std::shared_ptr<const IngestSettings>> settings_;
  BatchWriter& writer_;
  metrics::Registry& registry_;
  std::unique_ptr<InflightBudget> budget_;
  metrics::Counter& frames_rejected_;
  metrics::Counter& auth_failures_;
  std::atomic<uint64_t> records_received_{0};
  std::atomic<int64_t> writes_{0};  // batches inside writer_.Write now
  std::atomic<AgentRegistry*> agents_{nullptr};

  static constexpr size_t kMaxAgentLabels = 2000;
  mutable Mutex mu_;
  std::set<std::string> labelled_agents_ GUARDED_BY(mu_);  // agent label values in use
  bool draining_ GUARDED_BY(mu_) = false;
  std::set<Stream*> streams_ GUARDED_BY(mu_);
  WorkPool pool_;  // last: joined first, while the rest is alive
};

// Decode-and-write threads for `cores` cores (16 per core, 16–64): sinks block in Write (a
// commit, a delivery report), and a sink that gathers concurrent writes into one commit
// (PostgreSQL) commits only as many batches at once as there are writers: with 2,000 agents
// into PostgreSQL on 2 cores, 8 threads fell behind (ack p50 8 s), 32 kept up (0.8 s).
// Bounded, so thousands of streams cost no more threads.
size_t DefaultIngestWorkers(unsigned cores);

}  // namespace logship::collector
