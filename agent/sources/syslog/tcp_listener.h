// A listening TCP socket of a syslog source (plain or TLS). Accepting is the host's business:
// it decides whether a connection is admitted (max_connections). Loop thread only.
#pragma once

#include <uv.h>

#include <optional>

#include "agent/sources/syslog/syslog_config.h"
#include "agent/sources/syslog/tls_session.h"
#include "agent/uv_handle.h"
#include "common/status.h"

namespace logship::agent::syslog {

class TcpListener;

class AcceptHost {
 public:
  virtual ~AcceptHost() = default;
  // A connection waits on `listener` (status 0), or accepting failed (status < 0: EMFILE …).
  virtual void OnConnection(TcpListener& listener, int status) = 0;
};

class TcpListener {
 public:
  // REQUIRES: endpoint, tls (null for plain TCP) and host outlive the listener.
  TcpListener(uv_loop_t* loop, const SyslogEndpoint& endpoint, const TlsServerContext* tls, AcceptHost& host);

  // Binds and listens. On failure the socket is closed again (Listen may be retried later).
  Status Listen();
  void Close() { tcp_.reset(); }
  bool up() const { return tcp_.has_value(); }

  uv_stream_t* server() const { return reinterpret_cast<uv_stream_t*>(tcp_->get()); }
  const SyslogEndpoint& endpoint() const { return endpoint_; }
  const TlsServerContext* tls() const { return tls_; }

 private:
  uv_loop_t* const loop_;
  const SyslogEndpoint& endpoint_;
  const TlsServerContext* const tls_;
  AcceptHost& host_;
  std::optional<UvHandle<uv_tcp_t>> tcp_;
};

}  // namespace logship::agent::syslog
