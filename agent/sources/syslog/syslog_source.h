// `type: syslog` source: receives RFC 5424 and RFC 3164 messages over TCP (RFC 6587 framing,
// optionally TLS) and UDP, on the agent's libuv loop, and emits one record per message
// (record_maker.h) with an id of its own (syslog_identity.h).
//
// Backpressure: Pause() stops reading every TCP connection, so senders block once the socket
// buffers fill; nothing is read that cannot be batched. UDP cannot push back: while paused,
// datagrams are kept in a bounded backlog (kUdpBacklogBytes) and shipped on Resume; beyond it
// they are dropped and counted (logship_agent_syslog_dropped_total{reason="paused"}).
//
// Bounds: at most max_connections TCP connections (more are accepted and closed at once,
// counted); each holds at most max_message_bytes of an unfinished message plus its TLS state;
// one 64 KiB read buffer serves every socket; a connection silent for idle_timeout is closed
// (not while the source is paused: a blocked sender is not idle), and a TLS handshake not
// completed within kHandshakeTimeoutMs closes it too.
//
// A listener that cannot bind (address in use, a privileged port) is logged, reported by
// Health(), and retried every kRelistenInterval; the other listeners and sources go on.
//
// Loop thread only, except Health() and the counters (any thread).
#pragma once

#include <uv.h>

#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/sources/source_plugin.h"
#include "agent/sources/syslog/log_throttle.h"
#include "agent/sources/syslog/record_maker.h"
#include "agent/sources/syslog/syslog_config.h"
#include "agent/sources/syslog/syslog_counters.h"
#include "agent/sources/syslog/syslog_identity.h"
#include "agent/sources/syslog/syslog_state.h"
#include "agent/sources/syslog/tcp_connection.h"
#include "agent/sources/syslog/tcp_listener.h"
#include "agent/sources/syslog/tls_session.h"
#include "agent/sources/syslog/udp_listener.h"
#include "agent/uv_handle.h"
#include "common/thread/mutex.h"

namespace logship::agent::syslog {

class SyslogSource final : public Source, private ConnectionHost, private AcceptHost, private DatagramHost {
 public:
  static constexpr size_t kReadBufferBytes = 64 << 10;  // > the largest UDP payload (65,507)
  static constexpr size_t kUdpBacklogBytes = 4 << 20;
  static constexpr uint64_t kRelistenIntervalMs = 5000;
  // A TLS handshake takes this long at most (or idle_timeout, if shorter): a client that
  // opens connections and never completes one cannot hold max_connections for long.
  static constexpr uint64_t kHandshakeTimeoutMs = 30000;

  // Reads its last sequence from the context's checkpoint store (SyslogState).
  SyslogSource(const SyslogSourceConfig& config, const SourceContext& context);
  ~SyslogSource() override;

  Status Start(Emitter& emitter) override;
  void Pause() override;
  void Resume() override;
  void Stop() override;
  Status Health() const override;

  const SyslogCounters& counters() const { return counters_; }

 private:
  struct Datagram {
    std::string peer;
    std::string bytes;
  };

  RecordMaker& maker() override { return maker_; }
  uv_buf_t ReadBuffer() override;
  bool paused() const override { return paused_; }
  void Closed(TcpConnection* connection, CloseReason why, const std::string& detail) override;
  void OnConnection(TcpListener& listener, int status) override;
  void OnDatagram(std::string_view bytes, std::string_view peer, bool truncated) override;

  Status LoadTls();
  void ListenAll(bool first);
  void Sweep();          // idle connections, listeners to retry
  void DrainBacklog();   // UDP datagrams kept while paused
  void UpdateDrain();
  void SetHealth(std::string down);

  uv_loop_t* const loop_;
  const SyslogSourceConfig config_;
  const std::string key_;
  SyslogCounters counters_;
  SyslogIdentity identity_;
  SyslogPositions positions_;
  RecordMaker maker_;
  Emitter* emitter_ = nullptr;
  std::vector<std::unique_ptr<TlsServerContext>> tls_;  // per endpoint; null without TLS
  std::vector<std::unique_ptr<TcpListener>> tcp_listeners_;
  std::vector<std::unique_ptr<UdpListener>> udp_listeners_;
  std::unordered_map<TcpConnection*, std::unique_ptr<TcpConnection>> connections_;
  std::unique_ptr<char[]> read_buffer_;
  std::deque<Datagram> backlog_;
  size_t backlog_bytes_ = 0;
  bool paused_ = false;
  bool stopped_ = false;
  uint64_t last_listen_ms_ = 0;
  UvHandle<uv_timer_t> sweep_timer_;
  UvHandle<uv_idle_t> drain_;
  LogThrottle refused_log_, closed_log_, udp_drop_log_, listen_log_;
  mutable Mutex health_mu_;
  std::string down_ GUARDED_BY(health_mu_);  // listeners that are not listening, "" when all are
};

}  // namespace logship::agent::syslog
