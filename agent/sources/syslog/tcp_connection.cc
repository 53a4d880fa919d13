#include "agent/sources/syslog/tcp_connection.h"

#include <sys/socket.h>

#include <cerrno>
#include <utility>

namespace logship::agent::syslog {
namespace {

// A peer that does not read what TLS sends it (handshake, alerts) may not make the agent
// queue more than this for it.
constexpr size_t kMaxWriteQueueBytes = 256 << 10;

// A write in flight owns its bytes: it may finish (or be cancelled by uv_close) after the
// connection is gone.
struct WriteRequest {
  uv_write_t req{};
  std::string bytes;
};

std::string PeerAddress(const uv_tcp_t* tcp) {
  sockaddr_storage addr{};
  int len = sizeof addr;
  if (uv_tcp_getpeername(tcp, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "";
  char name[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET6) {
    uv_ip6_name(reinterpret_cast<const sockaddr_in6*>(&addr), name, sizeof name);
  } else {
    uv_ip4_name(reinterpret_cast<const sockaddr_in*>(&addr), name, sizeof name);
  }
  return name;
}

}  // namespace

TcpConnection::TcpConnection(uv_loop_t* loop, ConnectionHost& host, size_t max_message_bytes,
                             const TlsServerContext* tls)
    : loop_(loop),
      host_(host),
      transport_(tls != nullptr ? Transport::kTls : Transport::kTcp),
      decoder_(max_message_bytes) {
  if (tls != nullptr) tls_ = std::make_unique<TlsSession>(*tls);
  if (uv_tcp_init(loop_, tcp_.get()) == 0) {
    tcp_.MarkInitialized();
    tcp_.get()->data = this;
  }
  Touch();
}

uv_stream_t* TcpConnection::handle() {
  return tcp_.initialized() ? reinterpret_cast<uv_stream_t*>(tcp_.get()) : nullptr;
}

void TcpConnection::Begin(bool reading) {
  peer_ = PeerAddress(tcp_.get());
  uv_tcp_keepalive(tcp_.get(), 1, 60);  // a vanished peer is noticed even before idle_timeout
  Touch();
  accepted_ms_ = last_activity_ms_;
  SetReading(reading);
}

void TcpConnection::SetReading(bool reading) {
  if (reading == reading_ || !tcp_.initialized()) return;
  auto* stream = reinterpret_cast<uv_stream_t*>(tcp_.get());
  if (!reading) {
    uv_read_stop(stream);
    reading_ = false;
    return;
  }
  const int r = uv_read_start(
      stream,
      [](uv_handle_t* h, size_t, uv_buf_t* buf) {
        *buf = static_cast<TcpConnection*>(h->data)->host_.ReadBuffer();
      },
      [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) { static_cast<TcpConnection*>(s->data)->HandleRead(n, buf); });
  reading_ = r == 0;
}

bool TcpConnection::Drain() {
  uv_os_fd_t fd = -1;
  if (!tcp_.initialized() || uv_fileno(tcp_.handle(), &fd) != 0) return false;
  while (!host_.paused() && framing_error_.empty()) {
    const uv_buf_t buf = host_.ReadBuffer();
    const ssize_t n = ::recv(fd, buf.base, buf.len, MSG_DONTWAIT);
    if (n <= 0) return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    const std::string_view data(buf.base, static_cast<size_t>(n));
    if (tls_) {
      std::string to_send, error;  // nothing is sent back any more: the connection closes
      if (tls_->Receive(data, *this, &to_send, &error) != TlsSession::Outcome::kOk) return false;
    } else if (Status s = decoder_.Feed(data, *this); !s.ok()) {
      framing_error_ = s.message();
    }
  }
  return framing_error_.empty();
}

void TcpConnection::Finish(bool drain) {
  if (drain) Drain();
  if (framing_error_.empty()) (void)decoder_.Finish(*this);
}

void TcpConnection::HandleRead(ssize_t n, const uv_buf_t* buf) {
  if (n == 0) return;  // EAGAIN: nothing this time
  Touch();
  if (n < 0) {
    // EOF (or a reset): whatever the decoder holds is shipped first.
    const Status end = framing_error_.empty() ? decoder_.Finish(*this) : Status::Ok();
    if (n != UV_EOF) return End(CloseReason::kError, std::string("read: ") + uv_strerror(static_cast<int>(n)));
    if (!end.ok()) return End(CloseReason::kFraming, end.message());
    return End(CloseReason::kPeer, "");
  }
  const std::string_view data(buf->base, static_cast<size_t>(n));
  if (tls_) return HandleTls(data);
  if (Status s = decoder_.Feed(data, *this); !s.ok()) return End(CloseReason::kFraming, s.message());
}

void TcpConnection::HandleTls(std::string_view ciphertext) {
  std::string to_send, error;
  const TlsSession::Outcome outcome = tls_->Receive(ciphertext, *this, &to_send, &error);
  if (!to_send.empty()) Write(std::move(to_send));
  if (!framing_error_.empty()) return End(CloseReason::kFraming, framing_error_);
  switch (outcome) {
    case TlsSession::Outcome::kOk:
      if (tcp_.initialized() && uv_stream_get_write_queue_size(reinterpret_cast<uv_stream_t*>(tcp_.get())) >
                                    kMaxWriteQueueBytes)
        return End(CloseReason::kTls, "the peer does not read what TLS sends it");
      return;
    case TlsSession::Outcome::kClosed: {
      const Status end = decoder_.Finish(*this);
      return end.ok() ? End(CloseReason::kPeer, "") : End(CloseReason::kFraming, end.message());
    }
    case TlsSession::Outcome::kError:
      decoder_.Finish(*this);  // what was decrypted before the failure still ships
      return End(CloseReason::kTls, error);
  }
}

void TcpConnection::OnPlaintext(std::string_view bytes) {
  if (!framing_error_.empty()) return;  // the stream is lost; the connection closes after this read
  if (Status s = decoder_.Feed(bytes, *this); !s.ok()) framing_error_ = s.message();
}

void TcpConnection::OnFrame(const Frame& frame) { host_.maker().Ship(frame, peer_, transport_, stream_); }

void TcpConnection::Write(std::string bytes) {
  if (!tcp_.initialized()) return;
  auto w = std::make_unique<WriteRequest>();
  w->bytes = std::move(bytes);
  w->req.data = w.get();
  const uv_buf_t b = uv_buf_init(w->bytes.data(), static_cast<unsigned>(w->bytes.size()));
  const int r = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(tcp_.get()), &b, 1, [](uv_write_t* req, int) {
    std::unique_ptr<WriteRequest> done(static_cast<WriteRequest*>(req->data));
  });
  if (r == 0) (void)w.release();  // owned by libuv until the callback
}

void TcpConnection::End(CloseReason why, const std::string& detail) { host_.Closed(this, why, detail); }

}  // namespace logship::agent::syslog
