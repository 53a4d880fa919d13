// logship.v1.Ingest: receives frames on a Ship stream, decodes them, writes them to every
// sink, and acks each frame only after all sinks committed it.
//
// Threads: gRPC's synchronous server runs each Ship call on its own thread; frames of one
// stream are handled in order on that thread. The sinks must be thread-safe and outlive
// the service.
//
// Authentication: when tokens are configured, a stream must carry "authorization: Bearer
// <token>" (else UNAUTHENTICATED, checked once per stream), and every frame's agent_id must
// be the token's agent (else PERMISSION_DENIED). Nothing is checked per record.
//
// Outcomes per frame: OK ack; RETRY ack when a sink could not store it now; a frame that
// cannot be decoded ends the stream with INVALID_ARGUMENT (RESOURCE_EXHAUSTED for a limit)
// and names its sequence in the trailer "logship-rejected-sequence", so the agent sets
// exactly that frame aside.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <vector>

#include "collector/collector_config.h"
#include "collector/ingest/agent_auth.h"
#include "collector/sinks/sink.h"
#include "common/metrics/registry.h"
#include "logship/v1/ingest.grpc.pb.h"

namespace logship::collector {

class IngestService final : public logship::v1::Ingest::Service {
 public:
  // `auth` and `registry` must outlive the service.
  IngestService(const Limits& limits, std::vector<Sink*> sinks, const AgentAuth& auth, metrics::Registry& registry);

  grpc::Status Ship(grpc::ServerContext* context,
                    grpc::ServerReaderWriter<logship::v1::BatchAck, logship::v1::BatchFrame>* stream) override;

  uint64_t records_received() const { return records_received_.load(); }

  // Graceful stop, before Server::Shutdown: streams waiting for their next frame end now;
  // a stream in the middle of a frame finishes it (sink write and ack) and then ends.
  // Any thread.
  void Drain();

 private:
  // Returns false when draining: the stream must end instead of reading another frame.
  bool MarkIdle(grpc::ServerContext* ctx);
  void MarkBusy(grpc::ServerContext* ctx);

  std::mutex mu_;
  bool draining_ = false;                           // GUARDED_BY(mu_)
  std::map<grpc::ServerContext*, bool> streams_;    // GUARDED_BY(mu_): context → busy
  struct SinkMetrics {
    metrics::Counter* records;
    metrics::Counter* errors;
    metrics::Histogram* write_seconds;
    metrics::Histogram* lag_seconds;
  };
  void CountReceived(const std::string& agent_id, uint64_t records);

  const Limits limits_;
  const std::vector<Sink*> sinks_;
  const AgentAuth& auth_;
  metrics::Registry& registry_;
  metrics::Counter& auth_failures_;
  std::vector<SinkMetrics> sink_metrics_;  // parallel to sinks_
  metrics::Counter& frames_rejected_;
  std::atomic<uint64_t> records_received_{0};
};

}  // namespace logship::collector
