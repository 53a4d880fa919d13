// A bound UDP socket of a syslog source: one datagram is one message. UDP cannot push back,
// so it keeps receiving while the source is paused; the host decides what to keep.
// Loop thread only.
#pragma once

#include <uv.h>

#include <optional>
#include <string>
#include <string_view>

#include "agent/sources/syslog/log_throttle.h"
#include "agent/sources/syslog/syslog_config.h"
#include "agent/uv_handle.h"
#include "common/status.h"

namespace logship::agent::syslog {

class DatagramHost {
 public:
  virtual ~DatagramHost() = default;
  // A buffer for one datagram (at least 64 KiB); consumed before the next read.
  virtual uv_buf_t ReadBuffer() = 0;
  // One datagram from `peer` (its IP). `truncated`: it did not fit the buffer.
  virtual void OnDatagram(std::string_view bytes, std::string_view peer, bool truncated) = 0;
  virtual bool paused() const = 0;
};

class UdpListener {
 public:
  // REQUIRES: endpoint and host outlive the listener.
  UdpListener(uv_loop_t* loop, const SyslogEndpoint& endpoint, DatagramHost& host);

  // Binds and starts receiving. On failure the socket is closed again (retry later).
  Status Listen();
  void Close() { udp_.reset(); }
  // Receives what the kernel holds now, without waiting (at a stop), while the host is not
  // paused.
  void Drain();
  bool up() const { return udp_.has_value(); }
  const SyslogEndpoint& endpoint() const { return endpoint_; }

 private:
  void HandleRecv(ssize_t n, const uv_buf_t* buf, const sockaddr* addr, unsigned flags);
  // The peer's IP, formatted once per distinct sender in a row.
  std::string_view PeerName(const sockaddr* addr);

  uv_loop_t* const loop_;
  const SyslogEndpoint& endpoint_;
  DatagramHost& host_;
  std::optional<UvHandle<uv_udp_t>> udp_;
  sockaddr_storage last_addr_{};
  std::string last_name_;
  LogThrottle errors_;
};

}  // namespace logship::agent::syslog
