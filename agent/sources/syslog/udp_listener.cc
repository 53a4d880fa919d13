#include "agent/sources/syslog/udp_listener.h"

#include <sys/socket.h>

#include <cstring>


namespace logship::agent::syslog {
namespace {

// Asked of the kernel for bursts (it caps this at net.core.rmem_max); datagrams that arrive
// while the buffer is full are dropped by the kernel (see README: UDP is lossy).
constexpr int kReceiveBufferBytes = 4 << 20;

size_t AddrSize(const sockaddr* a) { return a->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in); }

}  // namespace

UdpListener::UdpListener(uv_loop_t* loop, const SyslogEndpoint& endpoint, DatagramHost& host)
    : loop_(loop), endpoint_(endpoint), host_(host) {}

Status UdpListener::Listen() {
  udp_.reset();
  udp_.emplace();
  uv_udp_t* udp = udp_->get();
  if (const int r = uv_udp_init(loop_, udp); r != 0) {
    udp_.reset();
    return Status::IoError("cannot listen on " + endpoint_.Describe() + ": " + uv_strerror(r));
  }
  udp_->MarkInitialized();
  udp->data = this;
  int r = uv_udp_bind(udp, reinterpret_cast<const sockaddr*>(&endpoint_.sockaddr), 0);
  if (r == 0) {
    int size = kReceiveBufferBytes;
    uv_recv_buffer_size(reinterpret_cast<uv_handle_t*>(udp), &size);  // best effort
    r = uv_udp_recv_start(
        udp,
        [](uv_handle_t* h, size_t, uv_buf_t* buf) { *buf = static_cast<UdpListener*>(h->data)->host_.ReadBuffer(); },
        [](uv_udp_t* h, ssize_t n, const uv_buf_t* buf, const sockaddr* addr, unsigned flags) {
          static_cast<UdpListener*>(h->data)->HandleRecv(n, buf, addr, flags);
        });
  }
  if (r != 0) {
    udp_.reset();
    return Status::IoError("cannot listen on " + endpoint_.Describe() + ": " + uv_strerror(r));
  }
  return Status::Ok();
}

std::string_view UdpListener::PeerName(const sockaddr* addr) {
  const size_t size = AddrSize(addr);
  if (std::memcmp(&last_addr_, addr, size) == 0 && !last_name_.empty()) return last_name_;
  std::memcpy(&last_addr_, addr, size);
  char name[INET6_ADDRSTRLEN] = {};
  if (addr->sa_family == AF_INET6) {
    uv_ip6_name(reinterpret_cast<const sockaddr_in6*>(addr), name, sizeof name);
  } else {
    uv_ip4_name(reinterpret_cast<const sockaddr_in*>(addr), name, sizeof name);
  }
  last_name_ = name;
  return last_name_;
}

void UdpListener::Drain() {
  uv_os_fd_t fd = -1;
  if (!udp_ || uv_fileno(reinterpret_cast<uv_handle_t*>(udp_->get()), &fd) != 0) return;
  while (!host_.paused()) {
    const uv_buf_t buf = host_.ReadBuffer();
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    auto* from = reinterpret_cast<sockaddr*>(&addr);
    const ssize_t n = ::recvfrom(fd, buf.base, buf.len, MSG_DONTWAIT | MSG_TRUNC, from, &len);
    if (n < 0) return;  // EAGAIN: empty
    const bool truncated = static_cast<size_t>(n) > buf.len;
    const size_t size = truncated ? buf.len : static_cast<size_t>(n);
    if (size > 0) host_.OnDatagram(std::string_view(buf.base, size), PeerName(from), truncated);
  }
}

void UdpListener::HandleRecv(ssize_t n, const uv_buf_t* buf, const sockaddr* addr, unsigned flags) {
  if (n < 0) {
    // A transient error (ICMP feedback, ENOMEM): logged, and receiving goes on.
    errors_.Warn("syslog-source", "receiving on " + endpoint_.Describe() + ": " + uv_strerror(static_cast<int>(n)));
    return;
  }
  if (addr == nullptr || n == 0) return;  // nothing more to read now; an empty datagram says nothing
  host_.OnDatagram(std::string_view(buf->base, static_cast<size_t>(n)), PeerName(addr), (flags & UV_UDP_PARTIAL) != 0);
}

}  // namespace logship::agent::syslog
