// The syslog source on a real libuv loop, real sockets on loopback and a real checkpoint store.
#include "agent/sources/syslog/syslog_source.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <algorithm>
#include <functional>
#include <set>
#include <thread>

#include "agent/checkpoint/checkpoint_store.h"
#include "agent/sources/syslog/syslog_state.pb.h"
#include "common/file_util.h"
#include "common/metrics/registry.h"
#include "tests/unit/agent/sources/syslog/capture_emitter.h"
#include "tests/unit/agent/sources/syslog/test_certificate.h"
#include "tests/unit/testing/temp_dir.h"

namespace logship::agent::syslog {
namespace {

using logship::testing::TempDir;
using Clock = std::chrono::steady_clock;

int FreePort(int type) {
  UniqueFd fd(::socket(AF_INET, type, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

UniqueFd Connect(int type, int port) {
  UniqueFd fd(::socket(AF_INET, type, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  return fd;
}

void Send(const UniqueFd& fd, std::string_view bytes) {
  REQUIRE(::send(fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
}

// A source and everything it runs with.
struct Rig {
  explicit Rig(uint64_t sequence = 0) : store(dir.File("checkpoints"), SourceStateTypesOfPlugins()) {
    uv_loop_init(&loop);
    REQUIRE(store.Load().ok());
    if (sequence != 0) {
      syslog::v1::SyslogSourceState s;
      auto* e = s.add_sources();
      e->set_key("syslog:test");
      e->set_sequence(sequence);
      REQUIRE(store.ApplyState("syslog", s.SerializeAsString()).ok());
    }
    config.type = "syslog";
    config.name = "test";
    config.idle_timeout = std::chrono::milliseconds(60000);
  }
  ~Rig() {
    source.reset();
    uv_run(&loop, UV_RUN_DEFAULT);  // close callbacks
    uv_loop_close(&loop);
  }
  void Listen(SyslogEndpoint::Protocol p, int port) {
    SyslogEndpoint ep;
    ep.protocol = p;
    ep.address = "127.0.0.1:" + std::to_string(port);
    REQUIRE(ParseSyslogAddress(ep.address, &ep.sockaddr));
    ep.loopback = true;
    config.listen.push_back(ep);
  }
  void Start() {
    source = std::make_unique<SyslogSource>(config, SourceContext{&loop, "agent-1", &store, &registry});
    REQUIRE(source->Start(out).ok());
  }
  // Runs the loop until `done` or `seconds` pass; returns done().
  bool RunUntil(const std::function<bool()>& done, double seconds = 5) {
    const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
    while (!done()) {
      if (Clock::now() > deadline) return false;
      uv_run(&loop, UV_RUN_NOWAIT);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }
  void RunFor(double seconds) {
    RunUntil([] { return false; }, seconds);
  }

  TempDir dir;
  uv_loop_t loop{};
  CheckpointStore store;
  metrics::Registry registry;
  SyslogSourceConfig config;
  testing::CaptureEmitter out;
  std::unique_ptr<SyslogSource> source;
};

TEST_CASE("syslog source: TCP in both framings and UDP, one record per message") {
  Rig rig;
  const int port = FreePort(SOCK_STREAM);
  const int uport = FreePort(SOCK_DGRAM);
  rig.Listen(SyslogEndpoint::Protocol::kTcp, port);
  rig.Listen(SyslogEndpoint::Protocol::kUdp, uport);
  rig.Start();
  CHECK(rig.source->Health().ok());
  UniqueFd a = Connect(SOCK_STREAM, port);
  UniqueFd b = Connect(SOCK_STREAM, port);
  UniqueFd u = Connect(SOCK_DGRAM, uport);
  Send(a, "<13>1 - h app - - - lf one\n<13>1 - h app - - - lf t");
  const std::string oc = "<14>1 - h app - - - oc one";
  Send(b, std::to_string(oc.size()) + " " + oc);
  Send(u, "<15>Jun  5 10:00:00 h udpapp: datagram\n");
  Send(a, "wo\n");
  REQUIRE(rig.RunUntil([&] { return rig.out.records.size() == 4; }));
  std::multiset<std::string> bodies;
  for (const auto& r : rig.out.records) bodies.insert(r.body);
  CHECK(bodies == std::multiset<std::string>{"lf one", "lf two", "oc one", "datagram"});
  const SyslogCounters& c = rig.source->counters();
  CHECK(c.received_tcp == 3);
  CHECK(c.received_udp == 1);
  CHECK(c.connections_open == 2);
  CHECK(c.connections_accepted == 2);
  // The peer closes: what it sent without a final LF still ships.
  Send(b, "<13>1 - h app - - - last words");
  b.reset();
  REQUIRE(rig.RunUntil([&] { return rig.out.records.size() == 5 && c.connections_open == 1; }));
  CHECK(rig.out.records.back().body == "last words");
}

TEST_CASE("syslog source: ids continue the checkpointed sequence, with a new nonce") {
  Rig rig(41);
  const int uport = FreePort(SOCK_DGRAM);
  rig.Listen(SyslogEndpoint::Protocol::kUdp, uport);
  rig.Start();
  UniqueFd u = Connect(SOCK_DGRAM, uport);
  Send(u, "<13>1 - h app - - - one");
  Send(u, "<13>1 - h app - - - two");
  REQUIRE(rig.RunUntil([&] { return rig.out.records.size() == 2; }));
  syslog::v1::SyslogSourceState s;
  REQUIRE(s.ParseFromString(rig.out.records[1].delta));
  CHECK(s.sources(0).sequence() == 43);
  SyslogIdentity same_sequence_other_run("agent-1", "syslog:test", 41, Nonce{});
  RecordId id;
  same_sequence_other_run.Next(&id);
  CHECK_FALSE(id == rig.out.records[0].id);
}

TEST_CASE("syslog source: paused, TCP is not read and UDP waits in a bounded backlog") {
  Rig rig;
  const int port = FreePort(SOCK_STREAM);
  const int uport = FreePort(SOCK_DGRAM);
  rig.Listen(SyslogEndpoint::Protocol::kTcp, port);
  rig.Listen(SyslogEndpoint::Protocol::kUdp, uport);
  rig.Start();
  UniqueFd t = Connect(SOCK_STREAM, port);
  UniqueFd u = Connect(SOCK_DGRAM, uport);
  REQUIRE(rig.RunUntil([&] { return rig.source->counters().connections_open == 1; }));
  rig.source->Pause();
  Send(t, "<13>1 - h app - - - while paused\n");
  const std::string big(60000, 'x');
  const size_t fit = SyslogSource::kUdpBacklogBytes / (big.size() + 8);
  for (size_t i = 0; i < fit + 5; ++i) {
    Send(u, "<13>" + std::to_string(i) + " " + big);
    rig.RunFor(0.002);  // received as they come (the kernel's buffer is not what is tested)
  }
  rig.RunFor(0.2);
  CHECK(rig.out.records.empty());  // nothing read that cannot be batched
  CHECK(rig.source->counters().dropped_paused >= 5);
  const uint64_t dropped = rig.source->counters().dropped_paused;
  rig.source->Resume();
  REQUIRE(rig.RunUntil([&] { return rig.out.records.size() == fit + 5 - dropped + 1; }));
  // The backlog ships in arrival order.
  std::vector<int> order;
  for (const auto& r : rig.out.records)
    if (r.source_name == "syslog") order.push_back(std::stoi(r.body.substr(4)));
  CHECK(std::is_sorted(order.begin(), order.end()));
}

TEST_CASE("syslog source: connections beyond max_connections are refused and counted") {
  Rig rig;
  const int port = FreePort(SOCK_STREAM);
  rig.Listen(SyslogEndpoint::Protocol::kTcp, port);
  rig.config.max_connections = 2;
  rig.Start();
  UniqueFd a = Connect(SOCK_STREAM, port);
  UniqueFd b = Connect(SOCK_STREAM, port);
  REQUIRE(rig.RunUntil([&] { return rig.source->counters().connections_open == 2; }));
  UniqueFd c = Connect(SOCK_STREAM, port);
  REQUIRE(rig.RunUntil([&] { return rig.source->counters().connections_refused == 1; }));
  char buf[1];
  CHECK(::recv(c.get(), buf, 1, 0) == 0);  // closed by the agent
  Send(a, "<13>1 - h app - - - still served\n");
  REQUIRE(rig.RunUntil([&] { return rig.out.records.size() == 1; }));
}

TEST_CASE("syslog source: an idle connection is closed, its unfinished message shipped") {
  Rig rig;
  const int port = FreePort(SOCK_STREAM);
  rig.Listen(SyslogEndpoint::Protocol::kTcp, port);
  rig.config.idle_timeout = std::chrono::milliseconds(1000);
  rig.Start();
  UniqueFd a = Connect(SOCK_STREAM, port);
  Send(a, "<13>1 - h app - - - no LF yet");
  REQUIRE(rig.RunUntil([&] { return rig.source->counters().closed_idle == 1; }, 3));
  REQUIRE(rig.out.records.size() == 1);
  CHECK(rig.out.records[0].body == "no LF yet");
  char buf[1];
  CHECK(::recv(a.get(), buf, 1, 0) == 0);
}

TEST_CASE("syslog source: an absurd octet count closes the connection after shipping what came") {
  Rig rig;
  const int port = FreePort(SOCK_STREAM);
  rig.Listen(SyslogEndpoint::Protocol::kTcp, port);
  rig.config.max_message_bytes = 1024;
  rig.Start();
  UniqueFd a = Connect(SOCK_STREAM, port);
  Send(a, "10 <13>1 - - 2000 <13>1 - - - - - - then the stream is lost");
  REQUIRE(rig.RunUntil([&] { return rig.source->counters().framing_errors == 1; }));
  REQUIRE(rig.out.records.size() == 2);
  CHECK(rig.out.records[0].body == "<13>1 - - ");  // 10 bytes, as counted
  CHECK(rig.out.records[0].Attr("syslog.parse_error") == "RFC 5424 APP-NAME invalid");
  CHECK(rig.out.records[1].body == "2000 <13>1 - - - - - - then the stream is lost");
  CHECK(rig.out.records[1].Attr("syslog.parse_error") == "octet count out of range");
  char buf[1];
  CHECK(::recv(a.get(), buf, 1, 0) == 0);
}

TEST_CASE("syslog source: a stop ships what the kernel already holds, unless the flow is full") {
  Rig rig;
  const int port = FreePort(SOCK_STREAM);
  const int uport = FreePort(SOCK_DGRAM);
  rig.Listen(SyslogEndpoint::Protocol::kTcp, port);
  rig.Listen(SyslogEndpoint::Protocol::kUdp, uport);
  rig.Start();
  UniqueFd t = Connect(SOCK_STREAM, port);
  UniqueFd u = Connect(SOCK_DGRAM, uport);
  REQUIRE(rig.RunUntil([&] { return rig.source->counters().connections_open == 1; }));
  Send(t, "<13>1 - h app - - - sent before the stop\n<13>1 - h app - - - and one without LF");
  Send(u, "<13>1 - h app - - - a datagram before the stop");
  rig.source->Stop();  // the loop never ran: all of it was still in the kernel
  std::multiset<std::string> bodies;
  for (const auto& r : rig.out.records) bodies.insert(r.body);
  CHECK(bodies ==
        std::multiset<std::string>{"sent before the stop", "and one without LF", "a datagram before the stop"});

  Rig full;
  full.Listen(SyslogEndpoint::Protocol::kTcp, FreePort(SOCK_STREAM));
  full.Start();
  UniqueFd f = Connect(SOCK_STREAM, std::stoi(full.config.listen[0].address.substr(10)));
  REQUIRE(full.RunUntil([&] { return full.source->counters().connections_open == 1; }));
  full.source->Pause();
  Send(f, "<13>1 - h app - - - not read: the spool is full\n");
  full.source->Stop();
  CHECK(full.out.records.empty());
}

TEST_CASE("syslog source: TLS over a real socket; a handshake that never comes is cut short") {
  Rig rig;
  const int port = FreePort(SOCK_STREAM);
  rig.Listen(SyslogEndpoint::Protocol::kTcp, port);
  rig.config.listen[0].tls = testing::MakeCertificate(rig.dir);
  rig.config.idle_timeout = std::chrono::milliseconds(1000);  // the handshake limit is min(idle, 30 s)
  rig.Start();

  // An OpenSSL client on a non-blocking socket, driven between turns of the agent's loop.
  UniqueFd fd = Connect(SOCK_STREAM, port);
  ::fcntl(fd.get(), F_SETFL, O_NONBLOCK);
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()), &SSL_CTX_free);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), &SSL_free);
  SSL_set_fd(ssl.get(), fd.get());
  REQUIRE(rig.RunUntil([&] { return SSL_connect(ssl.get()) == 1; }));
  const std::string oc = "<13>1 - h tls-app - - - octet-counted";
  const std::string data = std::to_string(oc.size()) + " " + oc + "<13>1 - h tls-app - - - LF framed\n";
  REQUIRE(SSL_write(ssl.get(), data.data(), static_cast<int>(data.size())) == static_cast<int>(data.size()));
  REQUIRE(rig.RunUntil([&] { return rig.out.records.size() == 2; }));
  CHECK(rig.out.records[0].body == "octet-counted");
  CHECK(rig.out.records[1].body == "LF framed");
  CHECK(rig.source->counters().received_tls == 2);

  UniqueFd silent = Connect(SOCK_STREAM, port);  // connects, never says hello
  // Closed as a failed handshake (counted under reason="tls"), not merely as idle.
  REQUIRE(rig.RunUntil([&] { return rig.source->counters().closed_tls_error == 1; }, 3));
}

TEST_CASE("syslog source: a listener that cannot bind is reported by Health, the others serve") {
  Rig rig;
  const int port = FreePort(SOCK_STREAM);
  UniqueFd squatter(::socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(squatter.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(squatter.get(), 1) == 0);
  const int uport = FreePort(SOCK_DGRAM);
  rig.Listen(SyslogEndpoint::Protocol::kTcp, port);
  rig.Listen(SyslogEndpoint::Protocol::kUdp, uport);
  rig.Start();
  const Status health = rig.source->Health();
  CHECK_FALSE(health.ok());
  CHECK(health.message().find("tcp 127.0.0.1:" + std::to_string(port)) != std::string::npos);
  UniqueFd u = Connect(SOCK_DGRAM, uport);
  Send(u, "<13>1 - h app - - - udp still works");
  REQUIRE(rig.RunUntil([&] { return rig.out.records.size() == 1; }));
}

}  // namespace
}  // namespace logship::agent::syslog
