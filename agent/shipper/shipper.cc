#include "agent/shipper/shipper.h"

#include <grpcpp/support/channel_arguments.h>

#include <set>

#include "agent/shipper/backoff.h"
#include "common/file_util.h"
#include "common/log.h"
#include "common/thread_name.h"
#include "common/version.h"
#include "logship/v1/ingest.grpc.pb.h"

namespace logship::agent {
namespace {
constexpr std::string_view kComponent = "shipper";
constexpr auto kPoll = std::chrono::milliseconds(100);
}  // namespace

Result<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(const CollectorClientConfig& config) {
  if (!config.tls) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions opts;
  auto ca = ReadWholeFile(config.tls->ca_file);
  if (!ca.ok()) return Status::IoError("collector.tls.ca_file: " + ca.status().message());
  opts.pem_root_certs = *ca;
  if (!config.tls->cert_file.empty()) {
    auto cert = ReadWholeFile(config.tls->cert_file);
    if (!cert.ok()) return Status::IoError("collector.tls.cert_file: " + cert.status().message());
    auto key = ReadWholeFile(config.tls->key_file);
    if (!key.ok()) return Status::IoError("collector.tls.key_file: " + key.status().message());
    opts.pem_cert_chain = *cert;
    opts.pem_private_key = *key;
  }
  return grpc::SslCredentials(opts);
}

Shipper::Shipper(const CollectorClientConfig& config, std::string agent_id, std::string token, spool::Spool& spool,
                 std::string dead_letter_dir, std::shared_ptr<grpc::ChannelCredentials> credentials)
    : config_(config),
      agent_id_(std::move(agent_id)),
      token_(std::move(token)),
      spool_(spool),
      dead_letter_dir_(std::move(dead_letter_dir)) {
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(-1);
  // The collector's console shows each agent's version from this.
  args.SetUserAgentPrefix(std::string("logship-agent/") + LOGSHIP_VERSION);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, static_cast<int>(config_.backoff_min.count()));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, static_cast<int>(config_.backoff_max.count()));
  if (config_.tls && !config_.tls->server_name.empty()) args.SetSslTargetNameOverride(config_.tls->server_name);
  for (const auto& endpoint : config_.endpoints)
    channels_.push_back(grpc::CreateCustomChannel(endpoint, credentials, args));
}

Shipper::~Shipper() { Stop(); }

void Shipper::Start() {
  thread_ = std::thread([this] {
    SetThreadName("shipper");
    Run();
  });
}

void Shipper::Stop() {
  stopping_ = true;
  {
    std::lock_guard<std::mutex> lock(ctx_mu_);
    if (active_ctx_ != nullptr) active_ctx_->TryCancel();
  }
  sleep_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Shipper::WaitDrained(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (spool_.FirstUnacked() < spool_.NextSequence()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

void Shipper::Run() {
  Backoff backoff(config_.backoff_min, config_.backoff_max);
  size_t endpoint = 0;
  while (!stopping_) {
    const StreamEnd end = RunStream(endpoint);
    if (end == StreamEnd::kStopped || stopping_) break;
    if (end == StreamEnd::kAcksFlowed) backoff.Reset();
    const auto delay = backoff.Next();
    endpoint = (endpoint + 1) % channels_.size();
    std::unique_lock<std::mutex> lock(sleep_mu_);
    sleep_cv_.wait_for(lock, delay, [&] { return stopping_.load(); });
  }
}

Shipper::StreamEnd Shipper::RunStream(size_t endpoint) {
  const std::string& name = config_.endpoints[endpoint];
  auto stub = logship::v1::Ingest::NewStub(channels_[endpoint]);
  grpc::ClientContext ctx;
  if (!token_.empty()) ctx.AddMetadata("authorization", "Bearer " + token_);
  {
    std::lock_guard<std::mutex> lock(ctx_mu_);
    if (stopping_) return StreamEnd::kStopped;
    active_ctx_ = &ctx;
  }
  auto stream = stub->Ship(&ctx);

  std::mutex mu;
  std::condition_variable cv;
  std::set<uint64_t> in_flight;  // GUARDED_BY(mu)
  bool broken = false;           // GUARDED_BY(mu)
  std::atomic<bool> acks_flowed{false};
  std::atomic<bool> closed_by_server{false};  // Read() ended: the call is over, its status is final

  std::thread reader([&] {
    SetThreadName("shipper-acks");
    logship::v1::BatchAck ack;
    while (stream->Read(&ack)) {
      const uint64_t seq = ack.sequence();
      if (ack.status() == logship::v1::BatchAck::OK) {
        spool_.Ack(seq);
        ++batches_acked_;
        acks_flowed = true;
      } else if (ack.status() == logship::v1::BatchAck::REJECTED) {
        if (DeadLetter(seq, ack.reason())) spool_.Ack(seq);
      } else {
        // RETRY: the collector could not store it now. Back off and resend the window.
        LogWarn(kComponent, "collector asked to retry batch " + std::to_string(seq) + ": " + ack.reason());
        ++batches_retried_;
        std::lock_guard<std::mutex> lock(mu);
        broken = true;
        cv.notify_all();
        return;
      }
      std::lock_guard<std::mutex> lock(mu);
      in_flight.erase(seq);
      cv.notify_all();
    }
    closed_by_server = true;
    std::lock_guard<std::mutex> lock(mu);
    broken = true;
    cv.notify_all();
  });

  uint64_t next = spool_.FirstUnacked();
  logship::v1::BatchFrame frame;
  while (!stopping_) {
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait_for(lock, kPoll, [&] { return broken || stopping_ || in_flight.size() < config_.max_in_flight; });
      if (broken) break;
      if (in_flight.size() >= config_.max_in_flight) continue;
    }
    if (next >= spool_.NextSequence()) {
      spool_.WaitForFrame(next, kPoll);
      continue;
    }
    next = std::max(next, spool_.FirstUnacked());
    auto f = spool_.Read(next);
    if (!f.ok()) {
      if (f.status().code() != Status::Code::kNotFound) {
        LogError(kComponent, "cannot read spooled frame " + std::to_string(next) + ": " + f.status().message());
        break;
      }
      ++next;  // acknowledged meanwhile, or lost to corruption
      continue;
    }
    frame.set_agent_id(agent_id_);
    frame.set_sequence(f->sequence);
    frame.set_codec(static_cast<logship::v1::Codec>(f->codec));
    frame.set_record_count(f->record_count);
    frame.set_uncompressed_bytes(f->uncompressed_bytes);
    *frame.mutable_payload() = std::move(f->payload);
    {
      std::lock_guard<std::mutex> lock(mu);
      in_flight.insert(next);
    }
    if (!stream->Write(frame)) break;
    ++batches_sent_;
    bytes_sent_ += frame.payload().size();
    ++next;
  }

  // Cancelling a call the server already closed would replace its status with CANCELLED.
  if (!closed_by_server) ctx.TryCancel();
  reader.join();
  const grpc::Status st = stream->Finish();
  {
    std::lock_guard<std::mutex> lock(ctx_mu_);
    active_ctx_ = nullptr;
  }
  if (stopping_) return StreamEnd::kStopped;
  if (st.error_code() == grpc::StatusCode::UNAUTHENTICATED || st.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
    LogError(kComponent, "collector " + name + " refused this agent: " + st.error_message() +
                             " — check collector.token_file and agent_id; batches stay spooled");
  } else if (!st.ok() && st.error_code() != grpc::StatusCode::CANCELLED) {
    LogWarn(kComponent, "stream to " + name + " ended: " + st.error_message() + " (code " +
                            std::to_string(static_cast<int>(st.error_code())) + ")");
    // A frame the collector can never accept is named in the trailers; set it aside.
    const auto& trailers = ctx.GetServerTrailingMetadata();
    if (auto it = trailers.find("logship-rejected-sequence"); it != trailers.end()) {
      const uint64_t seq = std::stoull(std::string(it->second.data(), it->second.size()));
      if (DeadLetter(seq, st.error_message())) spool_.Ack(seq);
    }
  }
  return acks_flowed ? StreamEnd::kAcksFlowed : StreamEnd::kFailed;
}

bool Shipper::DeadLetter(uint64_t sequence, const std::string& reason) {
  LogError(kComponent, "collector rejected batch " + std::to_string(sequence) + " (" + reason +
                           "); moving it to " + dead_letter_dir_);
  auto frame = spool_.Read(sequence);
  if (!frame.ok()) return false;
  if (Status s = MakeDirs(dead_letter_dir_); !s.ok()) {
    LogError(kComponent, s.message());
    return false;
  }
  const std::string base = dead_letter_dir_ + "/" + std::to_string(sequence);
  Status s = WriteFileAtomically(base + ".zst", frame->payload, true);
  if (s.ok()) s = WriteFileAtomically(base + ".reason", reason + "\n", true);
  if (!s.ok()) LogError(kComponent, "cannot write dead letter (the batch stays spooled): " + s.message());
  if (s.ok()) ++batches_dead_lettered_;
  return s.ok();
}

}  // namespace logship::agent
