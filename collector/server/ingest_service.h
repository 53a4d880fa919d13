// logship.v1.Ingest: receives frames on a Ship stream, decodes them, runs the pipeline,
// writes them to every sink, and acks each frame only after all sinks committed it.
//
// Threads: gRPC's synchronous server runs each Ship call on its own thread, which reads
// and decodes; a second thread per stream writes to the sinks and acks, so decoding frame
// N+1 overlaps writing frame N. Frames of one stream are written in order. The sinks must be thread-safe and outlive
// the service. Settings (limits, pipeline, tokens) can be replaced at any time
// (UpdateSettings, on SIGHUP); a frame uses the settings current when it arrived.
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
// Backpressure: a frame waits for room in the in-flight byte budget before it is decoded.
//
// Outcomes per frame: OK ack; RETRY ack when a sink could not store it now; a frame that
// cannot be decoded ends the stream with INVALID_ARGUMENT (RESOURCE_EXHAUSTED for a limit)
// and names its sequence in the trailer "logship-rejected-sequence", so the agent sets
// exactly that frame aside.
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

class IngestService final : public logship::v1::Ingest::Service {
 public:
  // `writer` and `registry` must outlive the service.
  IngestService(std::shared_ptr<const IngestSettings> settings, BatchWriter& writer, metrics::Registry& registry);

  grpc::Status Ship(grpc::ServerContext* context,
                    grpc::ServerReaderWriter<logship::v1::BatchAck, logship::v1::BatchFrame>* stream) override;

  void UpdateSettings(std::shared_ptr<const IngestSettings> settings) { settings_.store(std::move(settings)); }
  std::shared_ptr<const IngestSettings> settings() const { return settings_.load(); }
  uint64_t records_received() const { return records_received_.load(); }
  InflightBudget& budget() { return *budget_; }
  metrics::Counter& auth_failures() { return auth_failures_; }
  metrics::Registry& registry() { return registry_; }
  void CountReceived(const std::string& agent_id, uint64_t records);
  // Streams and batches are reported to `agents` from now on (nullptr: no more). `agents`
  // must outlive the service's streams. Any thread.
  void SetAgentRegistry(AgentRegistry* agents) { agents_.store(agents); }

  // Graceful stop, before Server::Shutdown: streams waiting for their next frame end now;
  // a stream in the middle of a frame finishes it (sink write and ack) and then ends.
  // Any thread.
  void Drain();

 private:
  // Per-stream state for a graceful drain. MarkIdle returns false when draining: the
  // stream must end instead of reading another frame.
  struct StreamState {
    bool decoding = false;  // the reading half is between Read and handoff
    int work = 0;           // batches handed to the writing half and not yet acked
  };
  // A decoded batch on its way from the reading half to the writing half of a stream.
  struct Work {
    DecodedBatch batch;
    std::vector<RefusedRecord> refused;  // taken out of the batch: to the dead letter
    std::shared_ptr<const IngestSettings> settings;
    uint64_t cost = 0;  // in-flight budget held until the batch is written
  };
  struct Caller;
  using Stream = grpc::ServerReaderWriter<logship::v1::BatchAck, logship::v1::BatchFrame>;
  // The token of this frame's call still holds, and the frame's agent is the token's.
  grpc::Status Authorize(Caller& caller, const IngestSettings& settings, const logship::v1::BatchFrame& frame);
  // Waits for in-flight room, then decodes; a frame that cannot be taken ends the stream
  // (named in the trailers).
  grpc::Status Decode(Caller& caller, const std::shared_ptr<const IngestSettings>& settings,
                      const logship::v1::BatchFrame& frame, Work* out);
  void Account(Caller& caller, const Work& work, uint64_t uncompressed_bytes);
  void WriteAndAck(Work& work, grpc::ServerContext* context, Stream* stream, std::atomic<bool>& ack_failed);
  bool MarkIdle(grpc::ServerContext* ctx);
  void MarkBusy(grpc::ServerContext* ctx);
  void WorkAdded(grpc::ServerContext* ctx);
  void WorkDone(grpc::ServerContext* ctx);

  std::atomic<std::shared_ptr<const IngestSettings>> settings_;
  BatchWriter& writer_;
  metrics::Registry& registry_;
  std::unique_ptr<InflightBudget> budget_;
  metrics::Counter& frames_rejected_;
  metrics::Counter& auth_failures_;
  std::atomic<uint64_t> records_received_{0};
  std::atomic<AgentRegistry*> agents_{nullptr};

  static constexpr size_t kMaxAgentLabels = 2000;
  Mutex mu_;
  std::set<std::string> labelled_agents_ GUARDED_BY(mu_);  // agent label values in use
  bool draining_ GUARDED_BY(mu_) = false;
  std::map<grpc::ServerContext*, StreamState> streams_ GUARDED_BY(mu_);
};

}  // namespace logship::collector
