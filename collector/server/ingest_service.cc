#include "collector/server/ingest_service.h"

#include <grpc/grpc_security_constants.h>

#include <chrono>
#include <optional>

#include "common/clock.h"
#include "common/log.h"
#include "common/thread/companion_thread.h"
#include "common/thread/handoff.h"
#include "common/thread/mutex.h"

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
    MutexLock lock(mu_);
    if (!labelled_agents_.count(agent_id)) {
      if (labelled_agents_.size() >= kMaxAgentLabels) label = &kOther;
      else labelled_agents_.insert(agent_id);
    }
  }
  registry_.GetCounter("logship_collector_records_received_total", "Records received, by agent.", {{"agent", *label}})
      .Inc(records);
}

// What one Ship call knows about its caller, and the decoder for the settings in force.
struct IngestService::Caller {
  grpc::ServerContext* context = nullptr;
  std::string peer;
  std::string user_agent;
  std::string authenticated;  // the token's agent (kFleetAgent for a fleet token), or ""
  std::string principal;      // what record ids bind to (record_identity.h)
  std::shared_ptr<const IngestSettings> decoder_settings;  // the settings `decoder` was made for
  std::optional<FrameDecoder> decoder;
  // The console's view of this stream: opened at its first frame, closed on every way out.
  AgentRegistry* presence = nullptr;
  std::string presence_agent;
  ~Caller() {
    if (presence != nullptr) presence->StreamClosed(presence_agent);
  }
};

grpc::Status IngestService::Ship(grpc::ServerContext* context,
                                 grpc::ServerReaderWriter<logship::v1::BatchAck, logship::v1::BatchFrame>* stream) {
  struct Unregister {
    IngestService* self;
    grpc::ServerContext* ctx;
    ~Unregister() {
      MutexLock lock(self->mu_);
      self->streams_.erase(ctx);
    }
  } unregister{this, context};
  Caller caller;
  caller.context = context;
  caller.peer = context->peer();
  if (auto it = context->client_metadata().find("user-agent"); it != context->client_metadata().end())
    caller.user_agent.assign(it->second.data(), std::min<size_t>(it->second.size(), 256));
  if (grpc::Status auth = AuthenticateCall(*settings(), context, &caller.authenticated, auth_failures_); !auth.ok())
    return auth;
  caller.principal = Principal(caller.authenticated, context);
  {
    // The limits, before the first ack: an agent fits (splits) its frames to them instead of
    // sending one that can never be taken.
    const Limits& l = settings()->limits;
    context->AddInitialMetadata("logship-max-frame-bytes", std::to_string(l.max_frame_bytes));
    context->AddInitialMetadata("logship-max-uncompressed-bytes", std::to_string(l.max_uncompressed_bytes));
    context->AddInitialMetadata("logship-max-records", std::to_string(l.max_records));
    stream->SendInitialMetadata();
  }
  // This thread reads and decodes frame N+1 while the writer writes frame N to the sinks and
  // acks it; the handoff holds at most one batch. On every way out the writer finishes (and
  // acks) what it was handed, then ends.
  Handoff<Work> handoff;
  std::atomic<bool> ack_failed{false};
  CompanionThread writer(
      "ingest-writer",
      [&] {
        while (std::optional<Work> w = handoff.Take()) WriteAndAck(*w, context, stream, ack_failed);
      },
      [&] { handoff.Close(); });
  // Frames are fresh each time: reusing them would keep each idle stream's largest batch
  // allocated, and with many streams that is most of the process's memory.
  auto frame = std::make_unique<logship::v1::BatchFrame>();
  for (; !ack_failed && MarkIdle(context) && stream->Read(frame.get());
       frame = std::make_unique<logship::v1::BatchFrame>()) {
    MarkBusy(context);
    const auto s = settings();
    Work w;
    if (grpc::Status st = Authorize(caller, *s, *frame); !st.ok()) return st;
    if (grpc::Status st = Decode(caller, s, *frame, &w); !st.ok()) return st;
    Account(caller, w, frame->uncompressed_bytes());
    WorkAdded(context);
    handoff.Put(std::move(w));
  }
  return grpc::Status::OK;
}

grpc::Status IngestService::Authorize(Caller& caller, const IngestSettings& s, const logship::v1::BatchFrame& f) {
  if (s.auth.required()) {
    // Every frame: a token revoked by a reload ends the streams that carry it.
    std::string now;
    if (grpc::Status auth = AuthenticateCall(s, caller.context, &now, auth_failures_); !auth.ok()) return auth;
    if (now != caller.authenticated)
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "the token now belongs to another agent; reconnect");
  }
  if (!caller.authenticated.empty() && caller.authenticated != kFleetAgent && f.agent_id() != caller.authenticated) {
    auth_failures_.Inc();
    const std::string msg = "the token belongs to agent \"" + caller.authenticated + "\" but the frame claims \"" +
                            f.agent_id().substr(0, 64) + "\"";
    LogWarn(kComponent, "refused a stream from " + caller.peer + ": " + msg);
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, msg);
  }
  return grpc::Status::OK;
}

grpc::Status IngestService::Decode(Caller& caller, const std::shared_ptr<const IngestSettings>& s,
                                   const logship::v1::BatchFrame& f, Work* w) {
  // Room for the compressed frame, the decompressed bytes and the decoded records (about
  // twice the serialized size), before decoding anything.
  const uint64_t cost =
      f.payload().size() + 3 * std::min<uint64_t>(f.uncompressed_bytes(), s->limits.max_uncompressed_bytes);
  grpc::ServerContext* context = caller.context;
  if (!budget_->Acquire(cost, [context] { return context->IsCancelled(); }))
    return grpc::Status(grpc::StatusCode::CANCELLED, "stream cancelled while waiting for room");
  if (caller.decoder_settings != s) {
    caller.decoder.emplace(s->limits);
    caller.decoder_settings = s;
  }
  // A fleet token vouches for the fleet, not for one name: ids bind to the claimed one.
  const Status st = caller.decoder->Decode(
      f, w->batch.batch, &w->refused,
      caller.authenticated == kFleetAgent ? std::string_view(f.agent_id()) : std::string_view(caller.principal));
  if (!st.ok()) {
    budget_->Release(cost);
    const std::string msg = "frame " + std::to_string(f.sequence()) +
                            (f.parts() > 1 ? " part " + std::to_string(f.part()) : std::string()) + " from agent \"" +
                            f.agent_id().substr(0, 64) + "\": " + st.message();
    LogWarn(kComponent, "rejected " + msg + " (peer " + caller.peer + ")");
    frames_rejected_.Inc();
    context->AddTrailingMetadata("logship-rejected-sequence", std::to_string(f.sequence()));
    if (f.parts() > 1) context->AddTrailingMetadata("logship-rejected-part", std::to_string(f.part()));
    return grpc::Status(st.code() == Status::Code::kResourceExhausted ? grpc::StatusCode::RESOURCE_EXHAUSTED
                                                                      : grpc::StatusCode::INVALID_ARGUMENT,
                        msg);
  }
  w->batch.agent_id = f.agent_id();
  w->batch.sequence = f.sequence();
  w->batch.part = f.part();
  w->settings = s;
  w->cost = cost;
  return grpc::Status::OK;
}

void IngestService::Account(Caller& caller, const Work& w, uint64_t uncompressed_bytes) {
  const auto records = static_cast<uint64_t>(w.batch.batch->records_size());
  records_received_ += records;
  CountReceived(w.batch.agent_id, records);
  AgentRegistry* agents = agents_.load();
  if (agents == nullptr) return;
  if (caller.presence != agents || caller.presence_agent != w.batch.agent_id) {
    if (caller.presence != nullptr) caller.presence->StreamClosed(caller.presence_agent);
    agents->StreamOpened(w.batch.agent_id, caller.peer, AgentRegistry::VersionFromUserAgent(caller.user_agent));
    caller.presence = agents;
    caller.presence_agent = w.batch.agent_id;
  }
  agents->BatchReceived(w.batch.agent_id, w.batch.batch->host(), records, uncompressed_bytes);
}

void IngestService::WriteAndAck(Work& w, grpc::ServerContext* context,
                                grpc::ServerReaderWriter<logship::v1::BatchAck, logship::v1::BatchFrame>* stream,
                                std::atomic<bool>& ack_failed) {
  const WriteResult r = writer_.Write(*w.settings->pipeline, w.batch, w.refused, w.settings->limits.time_window());
  budget_->Release(w.cost);
  logship::v1::BatchAck ack;
  ack.set_sequence(w.batch.sequence);
  ack.set_part(w.batch.part);
  if (r.outcome == WriteOutcome::kOk) {
    ack.set_status(logship::v1::BatchAck::OK);
  } else {
    ack.set_status(r.outcome == WriteOutcome::kRetry ? logship::v1::BatchAck::RETRY : logship::v1::BatchAck::REJECTED);
    ack.set_reason(r.reason);
    LogWarn(kComponent, "batch " + std::to_string(w.batch.sequence) + " from " + w.batch.agent_id +
                            " not stored: " + r.reason);
  }
  if (!ack_failed && !stream->Write(ack)) ack_failed = true;
  WorkDone(context);
}

bool IngestService::MarkIdle(grpc::ServerContext* ctx) {
  MutexLock lock(mu_);
  if (draining_) return false;
  streams_[ctx].decoding = false;
  return true;
}

void IngestService::MarkBusy(grpc::ServerContext* ctx) {
  MutexLock lock(mu_);
  streams_[ctx].decoding = true;
}

void IngestService::WorkAdded(grpc::ServerContext* ctx) {
  MutexLock lock(mu_);
  ++streams_[ctx].work;
}

void IngestService::WorkDone(grpc::ServerContext* ctx) {
  MutexLock lock(mu_);
  StreamState& st = streams_[ctx];
  --st.work;
  // Draining: the last batch of a stream waiting for its next frame is acked; end it.
  if (draining_ && st.work == 0 && !st.decoding) ctx->TryCancel();
}

void IngestService::Drain() {
  MutexLock lock(mu_);
  draining_ = true;
  for (auto& [ctx, st] : streams_)
    if (!st.decoding && st.work == 0) ctx->TryCancel();
}

}  // namespace logship::collector
