#include "collector/ingest/ingest_service.h"

#include "collector/ingest/frame_decoder.h"
#include "common/log.h"

namespace logship::collector {
namespace {
constexpr std::string_view kComponent = "ingest";
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
  while (MarkIdle(context) && stream->Read(&frame)) {
    MarkBusy(context);
    Status s = decoder.Decode(frame, &batch.batch);
    if (!s.ok()) {
      const std::string msg = "frame " + std::to_string(frame.sequence()) + " from agent \"" +
                              frame.agent_id().substr(0, 64) + "\": " + s.message();
      LogWarn(kComponent, "rejected " + msg + " (peer " + peer + ")");
      context->AddTrailingMetadata("logship-rejected-sequence", std::to_string(frame.sequence()));
      return grpc::Status(s.code() == Status::Code::kResourceExhausted ? grpc::StatusCode::RESOURCE_EXHAUSTED
                                                                       : grpc::StatusCode::INVALID_ARGUMENT,
                          msg);
    }
    batch.agent_id = frame.agent_id();
    batch.sequence = frame.sequence();
    records_received_ += static_cast<uint64_t>(batch.batch.records_size());

    ack.Clear();
    ack.set_sequence(frame.sequence());
    ack.set_status(logship::v1::BatchAck::OK);
    for (Sink* sink : sinks_) {
      WriteResult r = sink->Write(batch);
      if (r.outcome == WriteOutcome::kOk) continue;
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
