#include "agent/sources/syslog/syslog_config.h"

#include <uv.h>

#include <cstdlib>
#include <cstring>

namespace logship::agent {
namespace {

using std::chrono::milliseconds;

// Why 480: RFC 5424 §6.1 requires every receiver to accept messages of 480 octets.
constexpr uint64_t kMinMessageBytes = 480;
// At most 16 MiB: one record must always fit a spool frame and a collector frame.
constexpr uint64_t kMaxMessageBytes = 16ull << 20;

SyslogEndpoint ParseEndpoint(const ConfigNode& node) {
  ConfigMap e(node);
  SyslogEndpoint ep;
  ep.protocol = e.Enum("protocol", {"tcp", "udp"}, 0) == 0 ? SyslogEndpoint::Protocol::kTcp
                                                           : SyslogEndpoint::Protocol::kUdp;
  auto address = e.Require("address");
  ep.address = address.AsString();
  if (!ParseSyslogAddress(ep.address, &ep.sockaddr))
    address.Fail("expected IP:port (\"0.0.0.0:514\", \"[::]:514\", \"localhost:5514\"), got \"" + ep.address + "\"");
  ep.loopback = IsLoopbackListen(ep.address);
  if (auto tls = e.Optional("tls"); !tls.IsNull()) {
    if (ep.protocol == SyslogEndpoint::Protocol::kUdp)
      tls.Fail("TLS is for protocol: tcp (syslog over DTLS is not supported)");
    ep.tls = ParseServerTlsFiles(tls);
  }
  e.Finish();
  return ep;
}

}  // namespace

std::string SyslogEndpoint::Describe() const {
  const char* p = protocol == Protocol::kUdp ? "udp" : tls ? "tls" : "tcp";
  return std::string(p) + " " + address;
}

bool ParseSyslogAddress(const std::string& address, sockaddr_storage* out) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) return false;
  const std::string port_text = address.substr(colon + 1);
  if (port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos) return false;
  const int port = std::atoi(port_text.c_str());
  if (port < 1 || port > 65535) return false;
  std::string host = address.substr(0, colon);
  std::memset(out, 0, sizeof *out);
  if (host == "localhost") host = "127.0.0.1";
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return uv_ip6_addr(host.substr(1, host.size() - 2).c_str(), port, reinterpret_cast<sockaddr_in6*>(out)) == 0;
  }
  return uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(out)) == 0;
}

std::unique_ptr<SourceConfig> ParseSyslogSource(ConfigMap& m) {
  auto s = std::make_unique<SyslogSourceConfig>();
  auto listen = m.Require("listen");
  if (!listen.IsSequence()) listen.Fail("expected a list of {protocol, address} entries");
  for (const auto& item : listen.AsSequence()) {
    SyslogEndpoint ep = ParseEndpoint(item);
    for (const auto& other : s->listen) {
      if (other.protocol == ep.protocol && other.address == ep.address) item.Fail("listed twice: " + ep.Describe());
    }
    s->listen.push_back(std::move(ep));
  }
  if (s->listen.empty()) listen.Fail("needs at least one {protocol, address} entry");
  s->max_message_bytes = m.Size("max_message_bytes", s->max_message_bytes, kMinMessageBytes, kMaxMessageBytes);
  s->max_connections = static_cast<uint32_t>(m.Int("max_connections", s->max_connections, 1, 65536));
  s->idle_timeout = std::chrono::duration_cast<milliseconds>(
      m.Duration("idle_timeout", s->idle_timeout, milliseconds(1000), milliseconds(86400000)));
  return s;
}

}  // namespace logship::agent
