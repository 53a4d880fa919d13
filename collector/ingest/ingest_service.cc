#include "collector/ingest/ingest_service.h"

#include <chrono>

#include "collector/ingest/frame_decoder.h"
#include "common/clock.h"
#include "common/log.h"

namespace logship::collector {
namespace {
constexpr std::string_view kComponent = "ingest";
}

IngestService::IngestService(const Limits& limits, std::vector<Sink*> sinks, const AgentAuth& auth,
                             metrics::Registry& registry)
    : limits_(limits),
      sinks_(std::move(sinks)),
      auth_(auth),
      registry_(registry),
      auth_failures_(registry.GetCounter("logship_collector_auth_failures_total",
                                         "Streams refused for a missing or wrong token, or a foreign agent id.")),
      frames_rejected_(registry.GetCounter("logship_collector_frames_rejected_total",
                                           "Frames that could not be decoded or broke a limit.")) {
  for (Sink* sink : sinks_) {
    const metrics::Labels l = {{"sink", std::string(sink->name())}};
    sink_metrics_.push_back(SinkMetrics{
        &registry.GetCounter("logship_collector_sink_records_total", "Records a sink committed.", l),
        &registry.GetCounter("logship_collector_sink_errors_total", "Failed batch writes, by sink.", l),
        &registry.GetHistogram("logship_collector_sink_write_seconds", "Time to commit one batch, by sink.",
                               metrics::LatencyBuckets(), l),
        &registry.GetHistogram("logship_collector_end_to_end_lag_seconds",
                               "From the agent reading a record to the sink committing it.",
                               metrics::LatencyBuckets(), l)});
  }
}

void IngestService::CountReceived(const std::string& agent_id, uint64_t records) {
  registry_.GetCounter("logship_collector_records_received_total", "Records received, by agent.", {{"agent", agent_id}})
      .Inc(records);
}

grpc::Status IngestService::Ship(grpc::ServerContext* context,
                                 grpc::ServerReaderWriter<logship::v1::BatchAck, logship::v1::BatchFrame>* stream) {
  FrameDecoder decoder(limits_);
  logship::v1::BatchFrame frame;
  DecodedBatch batch;
  logship::v1::BatchAck ack;
  std::string peer = context->peer();
  struct Unregister {
    IngestService* self;
    grpc::ServerContext* ctx;
    ~Unregister() {
      std::lock_guard<std::mutex> lock(self->mu_);
      self->streams_.erase(ctx);
    }
  } unregister{this, context};

  std::string authenticated;
  if (auth_.required()) {
    const auto& md = context->client_metadata();
    auto it = md.find("authorization");
    std::optional<std::string> agent;
    if (it != md.end()) agent = auth_.Authenticate(std::string_view(it->second.data(), it->second.size()));
    if (!agent) {
      auth_failures_.Inc();
      const char* why = it == md.end() ? "no bearer token" : "an unknown bearer token";
      LogWarn(kComponent, std::string("refused a stream with ") + why + " from " + peer);
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, std::string("refused: ") + why);
    }
    authenticated = *agent;
  }
  while (MarkIdle(context) && stream->Read(&frame)) {
    MarkBusy(context);
    if (!authenticated.empty() && frame.agent_id() != authenticated) {
      auth_failures_.Inc();
      const std::string msg = "the token belongs to agent \"" + authenticated + "\" but the frame claims \"" +
                              frame.agent_id().substr(0, 64) + "\"";
      LogWarn(kComponent, "refused a stream from " + peer + ": " + msg);
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, msg);
    }
    Status s = decoder.Decode(frame, &batch.batch);
    if (!s.ok()) {
      const std::string msg = "frame " + std::to_string(frame.sequence()) + " from agent \"" +
                              frame.agent_id().substr(0, 64) + "\": " + s.message();
      LogWarn(kComponent, "rejected " + msg + " (peer " + peer + ")");
      frames_rejected_.Inc();
      context->AddTrailingMetadata("logship-rejected-sequence", std::to_string(frame.sequence()));
      return grpc::Status(s.code() == Status::Code::kResourceExhausted ? grpc::StatusCode::RESOURCE_EXHAUSTED
                                                                       : grpc::StatusCode::INVALID_ARGUMENT,
                          msg);
    }
    batch.agent_id = frame.agent_id();
    batch.sequence = frame.sequence();
    records_received_ += static_cast<uint64_t>(batch.batch.records_size());
    CountReceived(batch.agent_id, static_cast<uint64_t>(batch.batch.records_size()));

    ack.Clear();
    ack.set_sequence(frame.sequence());
    ack.set_status(logship::v1::BatchAck::OK);
    for (size_t i = 0; i < sinks_.size(); ++i) {
      Sink* sink = sinks_[i];
      const SinkMetrics& m = sink_metrics_[i];
      const auto start = std::chrono::steady_clock::now();
      WriteResult r = sink->Write(batch);
      m.write_seconds->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      if (r.outcome == WriteOutcome::kOk) {
        m.records->Inc(static_cast<uint64_t>(batch.batch.records_size()));
        const int64_t now = UnixNanosNow();
        for (const auto& rec : batch.batch.records())
          m.lag_seconds->Observe(static_cast<double>(now - static_cast<int64_t>(rec.observed_time_unix_nano())) / 1e9);
        continue;
      }
      m.errors->Inc();
      ack.set_status(r.outcome == WriteOutcome::kRetry ? logship::v1::BatchAck::RETRY
                                                       : logship::v1::BatchAck::REJECTED);
      ack.set_reason(std::string(sink->name()) + ": " + r.reason);
      LogWarn(kComponent, "batch " + std::to_string(frame.sequence()) + " from " + batch.agent_id +
                              " not stored: " + ack.reason());
      break;
    }
    if (!stream->Write(ack)) break;
  }
  return grpc::Status::OK;
}

bool IngestService::MarkIdle(grpc::ServerContext* ctx) {
  std::lock_guard<std::mutex> lock(mu_);
  if (draining_) return false;
  streams_[ctx] = false;
  return true;
}

void IngestService::MarkBusy(grpc::ServerContext* ctx) {
  std::lock_guard<std::mutex> lock(mu_);
  streams_[ctx] = true;
}

void IngestService::Drain() {
  std::lock_guard<std::mutex> lock(mu_);
  draining_ = true;
  for (auto& [ctx, busy] : streams_)
    if (!busy) ctx->TryCancel();
}

}  // namespace logship::collector
