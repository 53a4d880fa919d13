#include "collector/ingest/ingest_service.h"

#include <grpc/grpc_security_constants.h>

#include <chrono>
#include <condition_variable>
#include <thread>
#include <optional>

#include "collector/ingest/frame_decoder.h"
#include "common/clock.h"
#include "common/log.h"

namespace logship::collector {
namespace {
constexpr std::string_view kComponent = "ingest";
}

grpc::Status AuthenticateCall(const IngestSettings& settings, const grpc::ServerContextBase* context, std::string* agent,
                              metrics::Counter& failures) {
  agent->clear();
  if (!settings.auth.required()) return grpc::Status::OK;
  const auto& md = context->client_metadata();
  auto it = md.find("authorization");
  std::optional<std::string> who;
  if (it != md.end()) who = settings.auth.Authenticate(std::string_view(it->second.data(), it->second.size()));
  if (!who) {
    failures.Inc();
    const char* why = it == md.end() ? "no bearer token" : "an unknown bearer token";
    LogWarn(kComponent, std::string("refused a call with ") + why + " from " + context->peer());
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, std::string("refused: ") + why);
  }
  *agent = *who;
  return grpc::Status::OK;
}

std::string Principal(const std::string& token_agent, const grpc::ServerContextBase* context) {
  if (token_agent == kFleetAgent) return {};  // the caller binds to the claimed agent id
  if (!token_agent.empty()) return token_agent;
  const auto auth = context->auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) return {};
  for (const auto& name : auth->FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME))
    return "cert:" + std::string(name.data(), name.size());
  return {};
}

IngestService::IngestService(std::shared_ptr<const IngestSettings> settings, BatchWriter& writer,
                             metrics::Registry& registry)
    : settings_(settings),
      writer_(writer),
      registry_(registry),
      budget_(std::make_unique<InflightBudget>(settings->limits.max_inflight_bytes)),
      frames_rejected_(registry.GetCounter("logship_collector_frames_rejected_total",
                                           "Frames that could not be decoded or broke a limit.")),
      auth_failures_(registry.GetCounter("logship_collector_auth_failures_total",
                                         "Streams refused for a missing or wrong token, or a foreign agent id.")) {
  registry.AddCallback("logship_collector_inflight_bytes", "Bytes of batches being processed (all streams).", {},
                       [this] { return static_cast<double>(budget_->used()); });
}

void IngestService::CountReceived(const std::string& agent_id, uint64_t records) {
  // Agent ids are claimed by clients: the label takes at most kMaxAgentLabels of them (the
  // first seen), the rest count under "_other", so no one can grow the metrics without end.
  const std::string* label = &agent_id;
  static const std::string kOther = "_other";
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!labelled_agents_.count(agent_id)) {
      if (labelled_agents_.size() >= kMaxAgentLabels) label = &kOther;
      else labelled_agents_.insert(agent_id);
    }
  }
  registry_.GetCounter("logship_collector_records_received_total", "Records received, by agent.", {{"agent", *label}})
      .Inc(records);
}

grpc::Status IngestService::Ship(grpc::ServerContext* context,
                                 grpc::ServerReaderWriter<logship::v1::BatchAck, logship::v1::BatchFrame>* stream) {
  std::string peer = context->peer();
  struct Unregister {
    IngestService* self;
    grpc::ServerContext* ctx;
    ~Unregister() {
      std::lock_guard<std::mutex> lock(self->mu_);
      self->streams_.erase(ctx);
    }
  } unregister{this, context};

  // The console's view of this stream: opened at its first frame, closed on every way out.
  struct AgentPresence {
    console::AgentRegistry* registry = nullptr;
    std::string agent;
    ~AgentPresence() {
      if (registry != nullptr) registry->StreamClosed(agent);
    }
  } presence;
  std::string user_agent;
  if (auto it = context->client_metadata().find("user-agent"); it != context->client_metadata().end())
    user_agent.assign(it->second.data(), std::min<size_t>(it->second.size(), 256));

  std::string authenticated;
  if (grpc::Status auth = AuthenticateCall(*settings(), context, &authenticated, auth_failures_); !auth.ok())
    return auth;
  const std::string principal = Principal(authenticated, context);
  {
    // The limits, before the first ack: an agent fits (splits) its frames to them instead of
    // sending one that can never be taken.
    const Limits& l = settings()->limits;
    context->AddInitialMetadata("logship-max-frame-bytes", std::to_string(l.max_frame_bytes));
    context->AddInitialMetadata("logship-max-uncompressed-bytes", std::to_string(l.max_uncompressed_bytes));
    context->AddInitialMetadata("logship-max-records", std::to_string(l.max_records));
    stream->SendInitialMetadata();
  }

  // Two halves per stream, run in parallel (gRPC allows one Read and one Write at a time
  // from different threads): this thread reads and decodes frame N+1 while `writer`
  // writes frame N to the sinks and acks it. The handoff holds at most one batch.
  struct Work {
    DecodedBatch batch;
    std::vector<RefusedRecord> refused;  // taken out of the batch: to the dead letter
    std::shared_ptr<const IngestSettings> settings;
    uint64_t cost = 0;  // in-flight budget held until the batch is written
  };
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Work> handoff;  // GUARDED_BY(mu)
  bool closed = false;          // GUARDED_BY(mu)
  std::atomic<bool> ack_failed{false};
  std::thread writer([&] {
    logship::v1::BatchAck ack;
    for (;;) {
      Work w;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return handoff.has_value() || closed; });
        if (!handoff) return;
        w = std::move(*handoff);
        handoff.reset();
      }
      cv.notify_all();
      const WriteResult r = writer_.Write(*w.settings->pipeline, w.batch, w.refused, w.settings->limits.time_window());
      budget_->Release(w.cost);
      ack.Clear();
      ack.set_sequence(w.batch.sequence);
      ack.set_part(w.batch.part);
      if (r.outcome == WriteOutcome::kOk) {
        ack.set_status(logship::v1::BatchAck::OK);
      } else {
        ack.set_status(r.outcome == WriteOutcome::kRetry ? logship::v1::BatchAck::RETRY
                                                         : logship::v1::BatchAck::REJECTED);
        ack.set_reason(r.reason);
        LogWarn(kComponent, "batch " + std::to_string(w.batch.sequence) + " from " + w.batch.agent_id +
                                " not stored: " + r.reason);
      }
      if (!ack_failed && !stream->Write(ack)) ack_failed = true;
      WorkDone(context);
    }
  });
  // On every way out: the writer finishes (and acks) what it was handed, then ends.
  struct JoinWriter {
    std::mutex& mu;
    std::condition_variable& cv;
    bool& closed;
    std::thread& t;
    ~JoinWriter() {
      {
        std::lock_guard<std::mutex> lock(mu);
        closed = true;
      }
      cv.notify_all();
      t.join();
    }
  } join{mu, cv, closed, writer};

  // Frames are fresh each time: reusing them would keep each idle stream's largest batch
  // allocated, and with many streams that is most of the process's memory.
  auto frame = std::make_unique<logship::v1::BatchFrame>();
  std::shared_ptr<const IngestSettings> decoder_settings;  // the settings `decoder` was made for
  std::optional<FrameDecoder> decoder;
  for (; !ack_failed && MarkIdle(context) && stream->Read(frame.get());
       frame = std::make_unique<logship::v1::BatchFrame>()) {
    MarkBusy(context);
    const logship::v1::BatchFrame& f = *frame;
    const auto s = settings();
    if (s->auth.required()) {
      // Every frame: a token revoked by a reload ends the streams that carry it.
      std::string now;
      if (grpc::Status auth = AuthenticateCall(*s, context, &now, auth_failures_); !auth.ok()) return auth;
      if (now != authenticated)
        return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "the token now belongs to another agent; reconnect");
    }
    if (!authenticated.empty() && authenticated != kFleetAgent && f.agent_id() != authenticated) {
      auth_failures_.Inc();
      const std::string msg = "the token belongs to agent \"" + authenticated + "\" but the frame claims \"" +
                              f.agent_id().substr(0, 64) + "\"";
      LogWarn(kComponent, "refused a stream from " + peer + ": " + msg);
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, msg);
    }
    // Room for the compressed frame, the decompressed bytes and the decoded records (about
    // twice the serialized size), before decoding anything.
    const uint64_t cost = f.payload().size() + 3 * std::min<uint64_t>(f.uncompressed_bytes(),
                                                                          s->limits.max_uncompressed_bytes);
    if (!budget_->Acquire(cost, [context] { return context->IsCancelled(); }))
      return grpc::Status(grpc::StatusCode::CANCELLED, "stream cancelled while waiting for room");

    if (decoder_settings != s) {
      decoder.emplace(s->limits);
      decoder_settings = s;
    }
    Work w;
    // A fleet token vouches for the fleet, not for one name: ids bind to the claimed one.
    Status st = decoder->Decode(f, w.batch.batch, &w.refused,
                                authenticated == kFleetAgent ? std::string_view(f.agent_id()) : principal);
    if (!st.ok()) {
      budget_->Release(cost);
      const std::string msg = "frame " + std::to_string(f.sequence()) +
                              (f.parts() > 1 ? " part " + std::to_string(f.part()) : std::string()) +
                              " from agent \"" + f.agent_id().substr(0, 64) + "\": " + st.message();
      LogWarn(kComponent, "rejected " + msg + " (peer " + peer + ")");
      frames_rejected_.Inc();
      context->AddTrailingMetadata("logship-rejected-sequence", std::to_string(f.sequence()));
      if (f.parts() > 1) context->AddTrailingMetadata("logship-rejected-part", std::to_string(f.part()));
      return grpc::Status(st.code() == Status::Code::kResourceExhausted ? grpc::StatusCode::RESOURCE_EXHAUSTED
                                                                        : grpc::StatusCode::INVALID_ARGUMENT,
                          msg);
    }
    w.batch.agent_id = f.agent_id();
    w.batch.sequence = f.sequence();
    w.batch.part = f.part();
    w.settings = s;
    w.cost = cost;
    records_received_ += static_cast<uint64_t>(w.batch.batch->records_size());
    CountReceived(w.batch.agent_id, static_cast<uint64_t>(w.batch.batch->records_size()));
    if (console::AgentRegistry* agents = agents_.load(); agents != nullptr) {
      if (presence.registry != agents || presence.agent != w.batch.agent_id) {
        if (presence.registry != nullptr) presence.registry->StreamClosed(presence.agent);
        agents->StreamOpened(w.batch.agent_id, peer, console::AgentRegistry::VersionFromUserAgent(user_agent));
        presence.registry = agents;
        presence.agent = w.batch.agent_id;
      }
      agents->BatchReceived(w.batch.agent_id, w.batch.batch->host(),
                            static_cast<uint64_t>(w.batch.batch->records_size()), f.uncompressed_bytes());
    }
    WorkAdded(context);
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return !handoff.has_value(); });
      handoff = std::move(w);
    }
    cv.notify_all();
  }
  return grpc::Status::OK;
}

bool IngestService::MarkIdle(grpc::ServerContext* ctx) {
  std::lock_guard<std::mutex> lock(mu_);
  if (draining_) return false;
  streams_[ctx].decoding = false;
  return true;
}

void IngestService::MarkBusy(grpc::ServerContext* ctx) {
  std::lock_guard<std::mutex> lock(mu_);
  streams_[ctx].decoding = true;
}

void IngestService::WorkAdded(grpc::ServerContext* ctx) {
  std::lock_guard<std::mutex> lock(mu_);
  ++streams_[ctx].work;
}

void IngestService::WorkDone(grpc::ServerContext* ctx) {
  std::lock_guard<std::mutex> lock(mu_);
  StreamState& st = streams_[ctx];
  --st.work;
  // Draining: the last batch of a stream waiting for its next frame is acked; end it.
  if (draining_ && st.work == 0 && !st.decoding) ctx->TryCancel();
}

void IngestService::Drain() {
  std::lock_guard<std::mutex> lock(mu_);
  draining_ = true;
  for (auto& [ctx, st] : streams_)
    if (!st.decoding && st.work == 0) ctx->TryCancel();
}

}  // namespace logship::collector
