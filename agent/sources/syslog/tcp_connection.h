// One accepted syslog TCP connection, plain or TLS: reads, decrypts, frames (frame_decoder.h)
// and hands each message to the host's RecordMaker. Reading stops while the host is paused
// (the sender's writes block once the socket buffers fill: TCP backpressure).
//
// Lifetime: the host owns it; a connection that ends (EOF, error, framing error, TLS
// failure) tells the host through Closed() as the very last thing it does, and the host
// destroys it there. Pending writes (TLS handshake bytes) own their buffers, so they may
// complete or be cancelled after the connection is gone.
//
// Loop thread only.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>

#include "agent/sources/syslog/frame_decoder.h"
#include "agent/sources/syslog/record_maker.h"
#include "agent/sources/syslog/syslog_counters.h"
#include "agent/sources/syslog/tls_session.h"
#include "agent/uv_handle.h"

namespace logship::agent::syslog {

class TcpConnection;

enum class CloseReason { kPeer, kIdle, kFraming, kTls, kError };

class ConnectionHost {
 public:
  virtual ~ConnectionHost() = default;
  virtual RecordMaker& maker() = 0;
  // A buffer for one read; it is consumed before the next read of any connection.
  virtual uv_buf_t ReadBuffer() = 0;
  // True while the source is paused (the flow cannot take more records now).
  virtual bool paused() const = 0;
  // `connection` is done; the host destroys it. `detail` explains kFraming/kTls/kError.
  virtual void Closed(TcpConnection* connection, CloseReason why, const std::string& detail) = 0;
};

class TcpConnection final : private FrameHandler, private PlaintextHandler {
 public:
  // `tls`: null for plain TCP. REQUIRES: host and tls outlive the connection.
  TcpConnection(uv_loop_t* loop, ConnectionHost& host, size_t max_message_bytes, const TlsServerContext* tls);
  TcpConnection(const TcpConnection&) = delete;
  TcpConnection& operator=(const TcpConnection&) = delete;

  // The handle to uv_accept() into (initialized here). Null when libuv refused to init it.
  uv_stream_t* handle();
  // After a successful uv_accept: learns the peer's address, starts reading if `reading`.
  void Begin(bool reading);
  // Starts or stops reading (Pause/Resume of the source).
  void SetReading(bool reading);
  // Before the host closes the connection (idle, stop): with `drain`, first reads what the
  // kernel already holds for it (the peer's TCP stack counts it as delivered), as long as the
  // host is not paused; then ships what the decoder holds (an LF frame without its LF is a
  // message, an octet-counted frame cut short ships flagged).
  void Finish(bool drain);

  const std::string& peer() const { return peer_; }
  // A TLS connection whose handshake has not completed yet.
  bool handshaking() const { return tls_ && !tls_->established(); }
  uint64_t accepted_ms() const { return accepted_ms_; }
  uint64_t last_activity_ms() const { return last_activity_ms_; }
  void Touch() { last_activity_ms_ = uv_now(loop_); }

 private:
  void HandleRead(ssize_t n, const uv_buf_t* buf);
  // Reads the socket until it is empty (or the host pauses), feeding the data in; false when
  // the stream ended or broke meanwhile.
  bool Drain();
  void HandleTls(std::string_view ciphertext);
  void End(CloseReason why, const std::string& detail);  // the last call: `this` is gone after it
  void Write(std::string bytes);
  void OnFrame(const Frame& frame) override;
  void OnPlaintext(std::string_view bytes) override;

  uv_loop_t* const loop_;
  ConnectionHost& host_;
  const Transport transport_;
  UvHandle<uv_tcp_t> tcp_;
  FrameDecoder decoder_;
  RecordMaker::Stream stream_;
  std::unique_ptr<TlsSession> tls_;
  std::string peer_;
  uint64_t last_activity_ms_ = 0;
  uint64_t accepted_ms_ = 0;
  bool reading_ = false;
  std::string framing_error_;  // set inside OnPlaintext when the framing broke
};

}  // namespace logship::agent::syslog
