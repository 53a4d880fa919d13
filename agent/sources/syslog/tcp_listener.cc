#include "agent/sources/syslog/tcp_listener.h"

#include <string>

namespace logship::agent::syslog {
namespace {
constexpr int kBacklog = 128;
}  // namespace

TcpListener::TcpListener(uv_loop_t* loop, const SyslogEndpoint& endpoint, const TlsServerContext* tls,
                         AcceptHost& host)
    : loop_(loop), endpoint_(endpoint), tls_(tls), host_(host) {}

Status TcpListener::Listen() {
  tcp_.reset();
  tcp_.emplace();
  uv_tcp_t* tcp = tcp_->get();
  if (const int r = uv_tcp_init(loop_, tcp); r != 0) {
    tcp_.reset();
    return Status::IoError("cannot listen on " + endpoint_.Describe() + ": " + uv_strerror(r));
  }
  tcp_->MarkInitialized();
  tcp->data = this;
  int r = uv_tcp_bind(tcp, reinterpret_cast<const sockaddr*>(&endpoint_.sockaddr), 0);
  if (r == 0) {
    r = uv_listen(reinterpret_cast<uv_stream_t*>(tcp), kBacklog, [](uv_stream_t* server, int status) {
      auto* self = static_cast<TcpListener*>(server->data);
      self->host_.OnConnection(*self, status);
    });
  }
  if (r != 0) {
    tcp_.reset();  // closes the socket
    return Status::IoError("cannot listen on " + endpoint_.Describe() + ": " + uv_strerror(r));
  }
  return Status::Ok();
}

}  // namespace logship::agent::syslog
