#include "collector/server/ingest_service.h"

#include <grpc/grpc_security_constants.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <optional>

#include "common/clock.h"
#include "common/log.h"
#include "collector/server/ship_stream.h"
#include "common/thread/mutex.h"

namespace logship::collector {
namespace {
constexpr std::string_view kComponent = "ingest";

// What a frame's record ids bind to. A fleet token vouches for the fleet, not for one name:
// ids bind to the claimed one.
std::string_view BindsTo(const std::string& authenticated, const std::string& principal,
                         const logship::v1::BatchFrame& f) {
  return authenticated == kFleetAgent ? std::string_view(f.agent_id()) : std::string_view(principal);
}
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

size_t DefaultIngestWorkers(unsigned cores) { return std::clamp<size_t>(16 * static_cast<size_t>(cores), 16, 64); }

IngestService::IngestService(std::shared_ptr<const IngestSettings> settings, BatchWriter& writer,
                             metrics::Registry& registry, size_t workers)
    : settings_(settings),
      writer_(writer),
      registry_(registry),
      budget_(std::make_unique<InflightBudget>(settings->limits.max_inflight_bytes)),
      frames_rejected_(registry.GetCounter("logship_collector_frames_rejected_total",
                                           "Frames that could not be decoded or broke a limit.")),
      auth_failures_(registry.GetCounter("logship_collector_auth_failures_total",
                                         "Streams refused for a missing or wrong token, or a foreign agent id.")),
      pool_(workers != 0 ? workers : DefaultIngestWorkers(std::thread::hardware_concurrency()), SIZE_MAX,
            "ingest-work") {
  registry.AddCallback("logship_collector_inflight_bytes", "Bytes of batches being processed (all streams).", {},
                       [this] { return static_cast<double>(budget_->used()); });
  registry.AddCallback("logship_collector_ingest_streams", "Ship streams open now.", {},
                       [this] { return static_cast<double>(streams()); });
  registry.AddCallback("logship_collector_ingest_writes", "Batches being written to the sinks now (all streams).", {},
                       [this] { return static_cast<double>(writes_.load(std::memory_order_relaxed)); });
  registry.AddCallback("logship_collector_inflight_waiting", "Frames waiting for room in the in-flight budget.", {},
                       [this] { return static_cast<double>(budget_->waiting()); });
}

IngestService::~IngestService() = default;

grpc::ServerBidiReactor<logship::v1::BatchFrame, logship::v1::BatchAck>* IngestService::Ship(
    grpc::CallbackServerContext* context) {
  // Owned by gRPC until its OnDone, which deletes it (ship_stream.h).
  auto stream = std::make_unique<Stream>(*this, context, pool_);
  Stream* raw = stream.release();
  raw->Start();
  return raw;
}

size_t IngestService::streams() const {
  MutexLock lock(mu_);
  return streams_.size();
}

bool IngestService::Register(Stream* stream) {
  MutexLock lock(mu_);
  if (draining_) return false;
  streams_.insert(stream);
  return true;
}

void IngestService::Unregister(Stream* stream) {
  MutexLock lock(mu_);
  streams_.erase(stream);
}

void IngestService::CountReceived(const std::string& agent_id, uint64_t records) {
  ReceivedCounter(agent_id).Inc(records);
}

metrics::Counter& IngestService::ReceivedCounter(const std::string& agent_id) {
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
  return registry_.GetCounter("logship_collector_records_received_total", "Records received, by agent.",
                              {{"agent", *label}});
}

grpc::Status IngestService::Authorize(const Caller& caller, const IngestSettings& s, const logship::v1::BatchFrame& f) {
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

uint64_t IngestService::Cost(const IngestSettings& s, const logship::v1::BatchFrame& f) {
  // Room for the compressed frame, the decompressed bytes and the decoded records (about
  // twice the serialized size), before decoding anything.
  return f.payload().size() + 3 * std::min<uint64_t>(f.uncompressed_bytes(), s.limits.max_uncompressed_bytes);
}

grpc::Status IngestService::Decode(Caller& caller, const std::shared_ptr<const IngestSettings>& s,
                                   const logship::v1::BatchFrame& f, Work* w) {
  grpc::CallbackServerContext* context = caller.context;
  if (caller.decoder_settings != s) {
    caller.decoder.emplace(s->limits);
    caller.decoder_settings = s;
  }
  const std::string_view principal = BindsTo(caller.authenticated, caller.principal, f);
  // Only forwarded as it came (a Kafka edge): checked in full, but its ids and the pipeline's
  // fixed steps are left to whoever decodes the frame again.
  const bool frame_only = s->pipeline->stages() == 0 && writer_.WritesOnlyFrame(f.ByteSizeLong(), principal.size());
  const Status st = caller.decoder->Decode(f, w->batch.batch, &w->refused, principal, !frame_only);
  if (!st.ok()) {
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
  w->batch.derived = !frame_only || !w->refused.empty();
  w->settings = s;
  return grpc::Status::OK;
}

void IngestService::KeepFrame(const Caller& caller, std::unique_ptr<logship::v1::BatchFrame> frame, Work* w) const {
  if (!writer_.wants_received_frames() || !w->refused.empty()) return;
  auto kept = std::make_shared<ReceivedFrame>();
  kept->principal = std::string(BindsTo(caller.authenticated, caller.principal, *frame));
  kept->window = w->settings->limits.time_window();
  kept->frame.Swap(frame.get());  // both on the heap: pointers change hands, no bytes are copied
  w->batch.received = std::move(kept);
}

void IngestService::Account(Caller& caller, const Work& w, uint64_t uncompressed_bytes) {
  const auto records = static_cast<uint64_t>(w.batch.batch->records_size());
  records_received_ += records;
  // The counter is looked up once per stream and agent (a lookup scans the agents' series).
  if (caller.received == nullptr || caller.received_agent != w.batch.agent_id) {
    caller.received = &ReceivedCounter(w.batch.agent_id);
    caller.received_agent = w.batch.agent_id;
  }
  caller.received->Inc(records);
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

logship::v1::BatchAck IngestService::Write(Work& w) {
  writes_.fetch_add(1, std::memory_order_relaxed);
  const WriteResult r = writer_.Write(*w.settings->pipeline, w.batch, w.refused, w.settings->limits.time_window());
  writes_.fetch_sub(1, std::memory_order_relaxed);
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
  return ack;
}

void IngestService::Drain() {
  std::vector<Stream*> pinned;
  {
    MutexLock lock(mu_);
    draining_ = true;
    for (Stream* s : streams_)
      if (s->BeginDrain()) pinned.push_back(s);
  }
  // Outside the lock: finishing a stream may run its OnDone (Unregister) inline.
  for (Stream* s : pinned) s->RunDrain();
}

}  // namespace logship::collector
