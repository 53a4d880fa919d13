#include "agent/shipper/shipper.h"

#include <grpcpp/support/channel_arguments.h>

#include <charconv>
#include <map>

#include "agent/shipper/frame_splitter.h"
#include "common/backoff.h"
#include "common/file_util.h"
#include "common/grpc_tls.h"
#include "common/log.h"
#include "common/thread/companion_thread.h"
#include "common/thread_name.h"
#include "common/version.h"
#include "logship/v1/ingest.grpc.pb.h"
#include "common/thread/mutex.h"

namespace logship::agent {
namespace {
constexpr std::string_view kComponent = "shipper";
constexpr auto kPoll = std::chrono::milliseconds(100);
// How long a new stream waits for the collector's limits before sending without them.
constexpr auto kLimitsWait = std::chrono::seconds(5);
// The smallest frame size a refusal without a name can make the shipper assume.
constexpr uint64_t kMinAssumedFrame = 64 << 10;

// A decimal metadata value, or 0 when absent or not a number (never trusted further).
uint64_t MetadataNumber(const std::multimap<grpc::string_ref, grpc::string_ref>& md, const char* key) {
  auto it = md.find(key);
  if (it == md.end()) return 0;
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  return ec == std::errc() && end == it->second.data() + it->second.size() ? v : 0;
}
}  // namespace

Result<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(const CollectorClientConfig& config) {
  if (!config.tls) return grpc::InsecureChannelCredentials();
  return ClientTlsCredentials({"collector.tls", config.tls->ca_file, config.tls->cert_file, config.tls->key_file});
}

Shipper::Shipper(const CollectorClientConfig& config, std::string agent_id, std::string token, spool::Spool& spool,
                 std::string dead_letter_dir, std::shared_ptr<grpc::ChannelCredentials> credentials, int zstd_level)
    : config_(config),
      agent_id_(std::move(agent_id)),
      token_(std::move(token)),
      spool_(spool),
      dead_letter_dir_(std::move(dead_letter_dir)),
      zstd_level_(zstd_level) {
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(-1);
  // The collector's console shows each agent's version from this.
  args.SetUserAgentPrefix(std::string("logship-agent/") + LOGSHIP_VERSION);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, static_cast<int>(config_.backoff_min.count()));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, static_cast<int>(config_.backoff_max.count()));
  // gRPC reads this as the minimum time one connection attempt is given (its name says
  // backoff). It once held backoff_min, which abandoned every handshake slower than the
  // backoff (a long round trip, a loaded collector's TLS) before it could finish.
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, static_cast<int>(config_.connect_timeout.count()));
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
    MutexLock lock(ctx_mu_);
    if (active_ctx_ != nullptr) active_ctx_->TryCancel();
  }
  sleep_cv_.NotifyAll();
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
    MutexLock lock(sleep_mu_);
    const auto until = std::chrono::steady_clock::now() + delay;
    while (!stopping_.load() && sleep_cv_.WaitUntil(sleep_mu_, until)) {
    }
  }
}

// What the sending thread and the ack reader of one stream share.
struct Shipper::StreamState {
  Mutex mu;
  CondVar cv;
  std::map<uint64_t, uint32_t> parts_left GUARDED_BY(mu);  // sequence → parts not acked yet
  size_t frames_in_flight GUARDED_BY(mu) = 0;
  bool broken GUARDED_BY(mu) = false;
  bool limits_known GUARDED_BY(mu) = false;
  WireLimits limits GUARDED_BY(mu);
  std::atomic<bool> acks_flowed{false};
  std::atomic<bool> closed_by_server{false};  // Read() ended: the call is over, its status is final
  // Sending thread only.
  uint64_t largest_sent = 0;
  logship::v1::BatchFrame frame;

  void Break() {
    {
      MutexLock lock(mu);
      broken = true;
    }
    cv.NotifyAll();
  }
};

Shipper::StreamEnd Shipper::RunStream(size_t endpoint) {
  const std::string& name = config_.endpoints[endpoint];
  auto stub = logship::v1::Ingest::NewStub(channels_[endpoint]);
  grpc::ClientContext ctx;
  if (!token_.empty()) ctx.AddMetadata("authorization", "Bearer " + token_);
  {
    MutexLock lock(ctx_mu_);
    if (stopping_) return StreamEnd::kStopped;
    active_ctx_ = &ctx;
  }
  auto stream = stub->Ship(&ctx);
  StreamState st;
  {
    // The ack reader, beside this sending thread. Cancelling a call the server already closed
    // would replace its status with CANCELLED.
    CompanionThread reader("shipper-acks", [&] { ReadAcks(*stream, ctx, st); },
                           [&] {
                             if (!st.closed_by_server) ctx.TryCancel();
                           });
    {
      MutexLock lock(st.mu);
      const auto until = std::chrono::steady_clock::now() + kLimitsWait;
      while (!(st.limits_known || st.broken || stopping_) && st.cv.WaitUntil(st.mu, until)) {
      }
    }
    SendFrames(*stream, st);
  }
  const grpc::Status status = stream->Finish();
  {
    MutexLock lock(ctx_mu_);
    active_ctx_ = nullptr;
  }
  if (stopping_) return StreamEnd::kStopped;
  EndStream(ctx, status, st, name);
  return st.acks_flowed ? StreamEnd::kAcksFlowed : StreamEnd::kFailed;
}

void Shipper::ReadAcks(Stream& stream, grpc::ClientContext& ctx, StreamState& st) {
  // The collector's limits come first (an older collector sends none before its first ack).
  stream.WaitForInitialMetadata();
  {
    const auto& md = ctx.GetServerInitialMetadata();
    MutexLock lock(st.mu);
    st.limits.max_frame_bytes = MetadataNumber(md, "logship-max-frame-bytes");
    st.limits.max_uncompressed_bytes = MetadataNumber(md, "logship-max-uncompressed-bytes");
    st.limits.max_records = MetadataNumber(md, "logship-max-records");
    st.limits_known = true;
  }
  st.cv.NotifyAll();
  logship::v1::BatchAck ack;
  while (stream.Read(&ack)) {
    const uint64_t seq = ack.sequence();
    if (ack.status() == logship::v1::BatchAck::RETRY) {
      // The collector could not store it now. Back off and resend the window.
      LogWarn(kComponent, "collector asked to retry batch " + std::to_string(seq) + ": " + ack.reason());
      ++batches_retried_;
      return st.Break();
    }
    // OK, or REJECTED: the frame (or one of its parts) can never be stored; the whole
    // spooled frame is kept in dead-letter/ (a superset: parts already stored are
    // de-duplicated if it is ever replayed). Could not keep it: it stays spooled.
    if (ack.status() != logship::v1::BatchAck::OK && !DeadLetter(seq, ack.reason())) return st.Break();
    bool done = false;
    {
      MutexLock lock(st.mu);
      if (st.frames_in_flight > 0) --st.frames_in_flight;
      auto it = st.parts_left.find(seq);
      if (it != st.parts_left.end() && --it->second == 0) {
        st.parts_left.erase(it);
        done = true;
      }
    }
    st.cv.NotifyAll();
    if (done) {
      spool_.Ack(seq);
      if (ack.status() == logship::v1::BatchAck::OK) ++batches_acked_;
      st.acks_flowed = true;
    }
  }
  st.closed_by_server = true;
  st.Break();
}

bool Shipper::WaitWindow(StreamState& st) {
  MutexLock lock(st.mu);
  while (!st.broken && !stopping_ && st.frames_in_flight >= config_.max_in_flight) st.cv.WaitFor(st.mu, kPoll);
  return !st.broken && !stopping_;
}

bool Shipper::Send(Stream& stream, StreamState& st, const OutFrame& out, std::string payload) {
  if (!WaitWindow(st)) return false;
  logship::v1::BatchFrame& frame = st.frame;
  frame.set_agent_id(agent_id_);
  frame.set_sequence(out.sequence);
  frame.set_codec(static_cast<logship::v1::Codec>(out.codec));
  frame.set_record_count(out.records);
  frame.set_uncompressed_bytes(out.uncompressed);
  frame.set_part(out.part);
  frame.set_parts(out.parts);
  *frame.mutable_payload() = std::move(payload);
  {
    MutexLock lock(st.mu);
    ++st.frames_in_flight;
  }
  st.largest_sent = std::max<uint64_t>(st.largest_sent, frame.payload().size());
  if (!stream.Write(frame)) return false;
  ++batches_sent_;
  bytes_sent_ += frame.payload().size();
  return true;
}

void Shipper::SendFrames(Stream& stream, StreamState& st) {
  FrameSplitter splitter(zstd_level_);
  uint64_t next = spool_.FirstUnacked();
  while (!stopping_ && WaitWindow(st)) {
    if (next >= spool_.NextSequence()) {
      spool_.WaitForFrame(next, kPoll);
      continue;
    }
    next = std::max(next, spool_.FirstUnacked());
    auto f = spool_.Read(next);
    if (!f.ok()) {
      if (f.status().code() != Status::Code::kNotFound) {
        LogError(kComponent, "cannot read spooled frame " + std::to_string(next) + ": " + f.status().message());
        return;
      }
      ++next;  // acknowledged meanwhile, or lost to corruption
      continue;
    }
    ++next;
    if (!SendSpooled(stream, st, std::move(*f), splitter)) return;
  }
}

bool Shipper::SendSpooled(Stream& stream, StreamState& st, spool::SpooledFrame f, FrameSplitter& splitter) {
  WireLimits effective;
  {
    MutexLock lock(st.mu);
    effective = st.limits;
  }
  if (assumed_max_frame_ != 0)
    effective.max_frame_bytes = effective.max_frame_bytes == 0 ? assumed_max_frame_
                                                               : std::min(effective.max_frame_bytes, assumed_max_frame_);
  const uint64_t seq = f.sequence;
  if (FrameSplitter::Fits(f, effective)) {
    {
      MutexLock lock(st.mu);
      st.parts_left[seq] = 1;
    }
    return Send(stream, st, OutFrame{seq, f.codec, f.record_count, f.uncompressed_bytes, 0, 0}, std::move(f.payload));
  }
  auto split = splitter.Split(f, effective);
  if (!split.ok()) {
    if (DeadLetter(seq, split.status().message())) spool_.Ack(seq);
    return true;
  }
  ++frames_split_;
  const std::string why = "a record fits no frame under the collector's limits (max_frame_bytes " +
                          std::to_string(effective.max_frame_bytes) + ", max_uncompressed_bytes " +
                          std::to_string(effective.max_uncompressed_bytes) + ")";
  for (size_t i = 0; i < split->unfit.size(); ++i)
    if (!DeadLetterRecord(seq, i, split->unfit[i], why)) return false;  // disk trouble: the frame stays spooled
  const auto parts = static_cast<uint32_t>(split->parts.size());
  LogInfo(kComponent, "batch " + std::to_string(seq) + " exceeds the collector's limits; sending it as " +
                          std::to_string(parts) + " parts" +
                          (split->unfit.empty() ? "" : " (" + std::to_string(split->unfit.size()) + " record(s) set aside)"));
  if (parts == 0) {
    spool_.Ack(seq);
    return true;
  }
  {
    MutexLock lock(st.mu);
    st.parts_left[seq] = parts;
  }
  for (uint32_t i = 0; i < parts; ++i) {
    WirePart& p = split->parts[i];
    const OutFrame out{seq, static_cast<uint8_t>(logship::v1::CODEC_ZSTD), p.record_count, p.uncompressed_bytes, i, parts};
    if (!Send(stream, st, out, std::move(p.payload))) return false;
  }
  return true;
}

void Shipper::EndStream(grpc::ClientContext& ctx, const grpc::Status& st, const StreamState& state,
                        const std::string& name) {
  if (st.error_code() == grpc::StatusCode::UNAUTHENTICATED || st.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
    LogError(kComponent, "collector " + name + " refused this agent: " + st.error_message() +
                             " — check collector.token_file and agent_id; batches stay spooled");
    return;
  }
  if (st.ok() || st.error_code() == grpc::StatusCode::CANCELLED) return;
  LogWarn(kComponent, "stream to " + name + " ended: " + st.error_message() + " (code " +
                          std::to_string(static_cast<int>(st.error_code())) + ")");
  // A frame the collector can never accept is named in the trailers; set it aside.
  const uint64_t rejected = MetadataNumber(ctx.GetServerTrailingMetadata(), "logship-rejected-sequence");
  if (rejected != 0) {
    if (DeadLetter(rejected, st.error_message())) spool_.Ack(rejected);
  } else if (st.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED && state.largest_sent > kMinAssumedFrame) {
    // Refused before the collector saw it (gRPC's own message limit): assume less.
    assumed_max_frame_ = std::max(kMinAssumedFrame, state.largest_sent / 2);
    LogWarn(kComponent, "collector " + name + " refused a frame as too large without naming it; sending frames of at most " +
                            std::to_string(assumed_max_frame_) + " bytes from now on");
  }
}

bool Shipper::DeadLetterRecord(uint64_t sequence, size_t index, const std::string& batch, const std::string& reason) {
  if (Status s = MakeDirs(dead_letter_dir_); !s.ok()) {
    LogError(kComponent, s.message());
    return false;
  }
  ZstdCompressor z(zstd_level_);
  std::string payload;
  Status s = z.Compress(batch, &payload);
  const std::string base = dead_letter_dir_ + "/" + std::to_string(sequence) + "." + std::to_string(index);
  if (s.ok()) s = WriteFileAtomically(base + ".zst", payload, true);
  if (s.ok()) s = WriteFileAtomically(base + ".reason", reason + "\n", true);
  if (!s.ok()) {
    LogError(kComponent, "cannot write dead letter (the batch stays spooled): " + s.message());
    return false;
  }
  LogError(kComponent, "a record of batch " + std::to_string(sequence) + " (" + std::to_string(batch.size()) +
                           " bytes) was set aside in " + base + ".zst: " + reason);
  ++records_dead_lettered_;
  return true;
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
