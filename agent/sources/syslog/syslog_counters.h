// What a syslog source counts, for its metrics (register.cc names them). Written on the loop
// thread, read from any (the metrics page, /healthz).
#pragma once

#include <atomic>
#include <cstdint>

namespace logship::agent::syslog {

enum class Transport { kTcp, kTls, kUdp };

struct SyslogCounters {
  std::atomic<uint64_t> received_tcp{0};      // messages (a split one once), plain TCP
  std::atomic<uint64_t> received_tls{0};      // … over TLS
  std::atomic<uint64_t> received_udp{0};      // … over UDP
  std::atomic<uint64_t> parse_failures{0};    // shipped raw: no valid PRI or header
  std::atomic<uint64_t> split_messages{0};    // longer than max_message_bytes: shipped as parts
  std::atomic<uint64_t> framing_errors{0};    // TCP streams whose framing broke (then closed)
  std::atomic<uint64_t> dropped_paused{0};    // UDP messages dropped: spool full and pause buffer full
  std::atomic<uint64_t> dropped_truncated{0}; // UDP datagrams larger than the receive buffer (64 KiB)
  std::atomic<uint64_t> connections_open{0};
  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<uint64_t> connections_refused{0};  // over max_connections
  std::atomic<uint64_t> closed_idle{0};          // silent for idle_timeout
  std::atomic<uint64_t> closed_tls_error{0};     // TLS handshake or record failure
  std::atomic<uint64_t> closed_error{0};         // a read error (reset) or framing error
  std::atomic<uint32_t> listeners_down{0};       // listeners that failed (health)

  void Received(Transport t) {
    (t == Transport::kUdp ? received_udp : t == Transport::kTls ? received_tls : received_tcp)
        .fetch_add(1, std::memory_order_relaxed);
  }
};

}  // namespace logship::agent::syslog
