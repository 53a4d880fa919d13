#include "agent/sources/syslog/syslog_source.h"

#include <algorithm>

#include "agent/checkpoint/checkpoint_store.h"
#include "common/log.h"
#include "common/thread/mutex.h"

namespace logship::agent::syslog {
namespace {

constexpr std::string_view kComponent = "syslog-source";
constexpr int kDatagramsPerTurn = 1000;

uint64_t LastSequence(const SourceContext& context, const std::string& key) {
  return context.checkpoints->StateAs<SyslogState>(SyslogState::kType).Sequence(key);
}

}  // namespace

SyslogSource::SyslogSource(const SyslogSourceConfig& config, const SourceContext& context)
    : loop_(context.loop),
      config_(config),
      key_(config_.Key()),
      identity_(context.agent_id, key_, LastSequence(context, key_)),
      positions_(key_),
      maker_(config_.attributes, config_.max_message_bytes, identity_, positions_, counters_),
      read_buffer_(std::make_unique<char[]>(kReadBufferBytes)) {}

SyslogSource::~SyslogSource() { Stop(); }

Status SyslogSource::LoadTls() {
  for (const auto& ep : config_.listen) {
    std::unique_ptr<TlsServerContext> ctx;
    if (ep.tls) {
      auto loaded = TlsServerContext::Load(*ep.tls);
      if (!loaded.ok()) return Status::InvalidArgument(key_ + ": " + ep.Describe() + ": " + loaded.status().message());
      ctx = std::move(loaded).value();
    }
    tls_.push_back(std::move(ctx));
  }
  return Status::Ok();
}

Status SyslogSource::Start(Emitter& emitter) {
  emitter_ = &emitter;
  maker_.set_emitter(&emitter);
  paused_ = !emitter.Accepting();
  // Unusable TLS material is a configuration mistake: waiting will not fix it.
  if (Status s = LoadTls(); !s.ok()) return s;
  for (size_t i = 0; i < config_.listen.size(); ++i) {
    const SyslogEndpoint& ep = config_.listen[i];
    if (ep.protocol == SyslogEndpoint::Protocol::kTcp) {
      tcp_listeners_.push_back(std::make_unique<TcpListener>(loop_, ep, tls_[i].get(), static_cast<AcceptHost&>(*this)));
    } else {
      udp_listeners_.push_back(std::make_unique<UdpListener>(loop_, ep, static_cast<DatagramHost&>(*this)));
    }
    if (!ep.loopback && !ep.tls)
      LogWarn(kComponent, key_ + " listens on " + ep.Describe() +
                              " without TLS: messages cross the network in clear text and anyone who can reach "
                              "the port can send (network devices often can only do this; see README)");
  }
  for (auto* h : {&sweep_timer_}) {
    uv_timer_init(loop_, h->get());
    h->MarkInitialized();
    h->get()->data = this;
  }
  uv_idle_init(loop_, drain_.get());
  drain_.MarkInitialized();
  drain_.get()->data = this;
  ListenAll(true);
  // Idle connections are found to within a quarter of idle_timeout (at most 1 s late).
  const auto sweep = static_cast<uint64_t>(std::clamp<int64_t>(config_.idle_timeout.count() / 4, 100, 1000));
  uv_timer_start(sweep_timer_.get(), [](uv_timer_t* t) { static_cast<SyslogSource*>(t->data)->Sweep(); }, sweep, sweep);
  return Status::Ok();
}

void SyslogSource::ListenAll(bool first) {
  std::string down;
  const auto attempt = [&](auto& listener) {
    if (listener->up()) return;
    if (Status s = listener->Listen(); !s.ok()) {
      if (first) {
        LogError(kComponent, key_ + ": " + s.message() + "; retrying every " +
                                 std::to_string(kRelistenIntervalMs / 1000) + " s (health reports it)");
      } else {
        listen_log_.Warn(kComponent, key_ + ": still " + s.message());
      }
      down += (down.empty() ? "" : ", ") + listener->endpoint().Describe();
      return;
    }
    LogInfo(kComponent, key_ + " listening on " + listener->endpoint().Describe());
  };
  for (auto& l : tcp_listeners_) attempt(l);
  for (auto& l : udp_listeners_) attempt(l);
  last_listen_ms_ = uv_now(loop_);
  SetHealth(std::move(down));
}

void SyslogSource::SetHealth(std::string down) {
  MutexLock lock(health_mu_);
  down_ = std::move(down);
}

Status SyslogSource::Health() const {
  MutexLock lock(health_mu_);
  if (down_.empty()) return Status::Ok();
  return Status::Unavailable("not listening on " + down_);
}

void SyslogSource::Stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& l : tcp_listeners_) l->Close();
  // What senders got in before the stop ships (the agent then spools it, unless the spool is
  // full): datagrams kept while paused, and, while the flow takes more, what the kernel holds
  // for each socket; then messages a connection had not finished (an LF frame without its LF
  // ships as a message; an octet-counted frame cut short ships flagged).
  if (emitter_ != nullptr) {
    while (!backlog_.empty()) {
      maker_.ShipDatagram(backlog_.front().bytes, backlog_.front().peer);
      backlog_.pop_front();
    }
    for (auto& l : udp_listeners_) l->Drain();
    for (auto& [raw, connection] : connections_) connection->Finish(!paused_);
  }
  for (auto& l : udp_listeners_) l->Close();
  counters_.connections_open.store(0);
  connections_.clear();
  sweep_timer_.Close();
  drain_.Close();
}

void SyslogSource::Pause() {
  paused_ = true;
  for (auto& [raw, connection] : connections_) connection->SetReading(false);
  UpdateDrain();
}

void SyslogSource::Resume() {
  paused_ = false;
  if (stopped_) return;
  for (auto& [raw, connection] : connections_) {
    connection->Touch();  // time spent paused is not idleness
    connection->SetReading(true);
  }
  // The backlog drains from an idle callback: emitting here, inside the flow's resume of
  // every source, could pause the flow again half-way through that loop.
  UpdateDrain();
}

uv_buf_t SyslogSource::ReadBuffer() { return uv_buf_init(read_buffer_.get(), kReadBufferBytes); }

void SyslogSource::OnConnection(TcpListener& listener, int status) {
  if (status < 0) {
    counters_.connections_refused.fetch_add(1, std::memory_order_relaxed);
    refused_log_.Warn(kComponent, key_ + ": accepting on " + listener.endpoint().Describe() + ": " + uv_strerror(status));
    return;
  }
  // Always accepted (libuv stops watching a listener whose pending connection is left),
  // then closed at once when over the limit.
  auto c = std::make_unique<TcpConnection>(loop_, static_cast<ConnectionHost&>(*this), config_.max_message_bytes,
                                           listener.tls());
  if (c->handle() == nullptr || uv_accept(listener.server(), c->handle()) != 0) return;
  if (connections_.size() >= config_.max_connections) {
    counters_.connections_refused.fetch_add(1, std::memory_order_relaxed);
    refused_log_.Warn(kComponent, key_ + ": refused a connection on " + listener.endpoint().Describe() + ": " +
                                      std::to_string(config_.max_connections) + " (max_connections) are open");
    return;
  }
  counters_.connections_accepted.fetch_add(1, std::memory_order_relaxed);
  counters_.connections_open.fetch_add(1, std::memory_order_relaxed);
  TcpConnection* raw = c.get();
  connections_.emplace(raw, std::move(c));
  raw->Begin(!paused_);
}

void SyslogSource::Closed(TcpConnection* connection, CloseReason why, const std::string& detail) {
  const std::string peer = connection->peer();
  switch (why) {
    case CloseReason::kPeer: break;
    case CloseReason::kIdle: counters_.closed_idle.fetch_add(1, std::memory_order_relaxed); break;
    case CloseReason::kTls: counters_.closed_tls_error.fetch_add(1, std::memory_order_relaxed); break;
    case CloseReason::kFraming: counters_.framing_errors.fetch_add(1, std::memory_order_relaxed); [[fallthrough]];
    case CloseReason::kError: counters_.closed_error.fetch_add(1, std::memory_order_relaxed); break;
  }
  if (!detail.empty()) closed_log_.Warn(kComponent, key_ + ": closed the connection from " + peer + ": " + detail);
  if (connections_.erase(connection) > 0) counters_.connections_open.fetch_sub(1, std::memory_order_relaxed);
}

void SyslogSource::OnDatagram(std::string_view bytes, std::string_view peer, bool truncated) {
  if (truncated) {
    counters_.dropped_truncated.fetch_add(1, std::memory_order_relaxed);
    udp_drop_log_.Warn(kComponent, key_ + ": dropped a datagram from " + std::string(peer) + " larger than " +
                                       std::to_string(kReadBufferBytes) + " bytes");
    return;
  }
  if (!paused_ && backlog_.empty()) {
    maker_.ShipDatagram(bytes, peer);
    return;
  }
  if (backlog_bytes_ + bytes.size() > kUdpBacklogBytes) {
    counters_.dropped_paused.fetch_add(1, std::memory_order_relaxed);
    udp_drop_log_.Warn(kComponent, key_ + ": dropping UDP messages: the spool is full and " +
                                       std::to_string(kUdpBacklogBytes >> 20) + " MiB of them wait already");
    return;
  }
  backlog_bytes_ += bytes.size();
  backlog_.push_back(Datagram{std::string(peer), std::string(bytes)});
}

void SyslogSource::UpdateDrain() {
  if (!drain_.initialized()) return;
  const bool want = !paused_ && !backlog_.empty();
  if (want && !uv_is_active(drain_.handle())) {
    uv_idle_start(drain_.get(), [](uv_idle_t* h) { static_cast<SyslogSource*>(h->data)->DrainBacklog(); });
  } else if (!want && uv_is_active(drain_.handle())) {
    uv_idle_stop(drain_.get());
  }
}

void SyslogSource::DrainBacklog() {
  for (int n = 0; n < kDatagramsPerTurn && !paused_ && !backlog_.empty(); ++n) {
    Datagram d = std::move(backlog_.front());
    backlog_.pop_front();
    backlog_bytes_ -= d.bytes.size();
    maker_.ShipDatagram(d.bytes, d.peer);
  }
  UpdateDrain();
}

void SyslogSource::Sweep() {
  const uint64_t now = uv_now(loop_);
  if (!paused_) {
    const auto idle_limit = static_cast<uint64_t>(config_.idle_timeout.count());
    const uint64_t handshake_limit = std::min(idle_limit, kHandshakeTimeoutMs);
    std::vector<std::pair<TcpConnection*, CloseReason>> expired;
    for (auto& [raw, c] : connections_) {
      if (c->handshaking() && now - c->accepted_ms() >= handshake_limit) {
        expired.emplace_back(raw, CloseReason::kTls);
      } else if (now - c->last_activity_ms() >= idle_limit) {
        expired.emplace_back(raw, CloseReason::kIdle);
      }
    }
    for (auto [c, why] : expired) {
      c->Finish(false);
      const std::string detail =
          why == CloseReason::kTls ? "no TLS handshake within " + std::to_string(handshake_limit / 1000) + " s" : "";
      Closed(c, why, detail);
    }
  }
  if (now - last_listen_ms_ >= kRelistenIntervalMs) {
    const bool any_down = std::any_of(tcp_listeners_.begin(), tcp_listeners_.end(), [](auto& l) { return !l->up(); }) ||
                          std::any_of(udp_listeners_.begin(), udp_listeners_.end(), [](auto& l) { return !l->up(); });
    if (any_down) ListenAll(false);
  }
}

}  // namespace logship::agent::syslog
