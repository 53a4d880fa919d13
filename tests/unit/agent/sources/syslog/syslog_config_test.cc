#include "agent/sources/syslog/syslog_config.h"

#include <doctest/doctest.h>

#include "agent/agent_config.h"
#include "tests/unit/testing/config_error.h"

namespace logship::agent {
namespace {

using testing::ConfigErrorOf;
using namespace std::chrono_literals;

std::string Agent(const std::string& source) {
  return "sources:\n"
         "  - type: syslog\n" +
         source +
         "collector:\n"
         "  endpoints: [\"127.0.0.1:4740\"]\n";
}

const SyslogSourceConfig& Only(const AgentConfig& c) {
  REQUIRE(c.SourcesOf<SyslogSourceConfig>("syslog").size() == 1);
  return *c.SourcesOf<SyslogSourceConfig>("syslog")[0];
}

TEST_CASE("syslog config: endpoints, limits and attributes") {
  const AgentConfig c = ParseAgentConfig(Agent("    name: net\n"
                                               "    listen:\n"
                                               "      - {protocol: tcp, address: \"127.0.0.1:5514\"}\n"
                                               "      - {protocol: udp, address: \"127.0.0.1:5514\"}\n"
                                               "      - {protocol: tcp, address: \"[::]:6514\", tls: {cert_file: /c.pem, "
                                               "key_file: /k.pem, client_ca_file: /ca.pem}}\n"
                                               "    max_message_bytes: 8KiB\n"
                                               "    max_connections: 10\n"
                                               "    idle_timeout: 30s\n"
                                               "    attributes: {site: lab}\n"),
                                         "agent.yaml");
  const SyslogSourceConfig& s = Only(c);
  CHECK(s.Key() == "syslog:net");
  REQUIRE(s.listen.size() == 3);
  CHECK(s.listen[0].protocol == SyslogEndpoint::Protocol::kTcp);
  CHECK(s.listen[0].loopback);
  CHECK(s.listen[0].Describe() == "tcp 127.0.0.1:5514");
  CHECK(s.listen[1].protocol == SyslogEndpoint::Protocol::kUdp);
  CHECK(s.listen[2].tls.has_value());
  CHECK(s.listen[2].tls->client_ca_file == "/ca.pem");
  CHECK(s.listen[2].sockaddr.ss_family == AF_INET6);
  CHECK_FALSE(s.listen[2].loopback);
  CHECK(s.listen[2].Describe() == "tls [::]:6514");
  CHECK(s.max_message_bytes == 8192u);
  CHECK(s.max_connections == 10u);
  CHECK(s.idle_timeout == 30s);
  CHECK(s.attributes == Attributes{{"site", "lab"}});
}

TEST_CASE("syslog config: defaults") {
  const AgentConfig c =
      ParseAgentConfig(Agent("    listen: [{protocol: udp, address: \"0.0.0.0:514\"}]\n"), "agent.yaml");
  const SyslogSourceConfig& s = Only(c);
  CHECK(s.name == "syslog-0");
  CHECK(s.max_message_bytes == 65536u);
  CHECK(s.max_connections == 256u);
  CHECK(s.idle_timeout == 600s);
}

TEST_CASE("syslog config: mistakes are reported at their line and column") {
  const auto err = [](const std::string& source) {
    return ConfigErrorOf([&] { ParseAgentConfig(Agent(source), "agent.yaml"); });
  };
  CHECK(err("    max_connections: 5\n").find("agent.yaml:2:5: ") == 0);  // no listen
  CHECK(err("    listen: []\n").find("needs at least one") != std::string::npos);
  CHECK(err("    listen: {protocol: tcp}\n").find("expected a list") != std::string::npos);
  const std::string bad_address = err("    listen: [{protocol: tcp, address: \"example.com:514\"}]\n");
  CHECK(bad_address.find("agent.yaml:3:39: ") == 0);
  CHECK(bad_address.find("expected IP:port") != std::string::npos);
  CHECK(err("    listen: [{protocol: tcp, address: \"127.0.0.1:70000\"}]\n").find("expected IP:port") !=
        std::string::npos);
  CHECK(err("    listen: [{protocol: tcp, address: \"127.0.0.1\"}]\n").find("expected IP:port") != std::string::npos);
  CHECK(err("    listen: [{protocol: sctp, address: \"127.0.0.1:514\"}]\n").find("agent.yaml:3:25: ") == 0);
  CHECK(err("    listen: [{protocol: udp, address: \"127.0.0.1:514\", tls: {cert_file: a, key_file: b}}]\n")
            .find("DTLS") != std::string::npos);
  CHECK(err("    listen: [{protocol: tcp, address: \"127.0.0.1:514\", tls: {cert_file: a}}]\n").find("key_file") !=
        std::string::npos);
  CHECK(err("    listen: [{protocol: tcp, address: \"127.0.0.1:514\", tsl: {}}]\n").find("tsl") != std::string::npos);
  CHECK(err("    listen: [{protocol: tcp, address: \"127.0.0.1:514\"}, {protocol: tcp, address: \"127.0.0.1:514\"}]\n")
            .find("listed twice") != std::string::npos);
  const std::string too_big = err("    listen: [{protocol: udp, address: \"127.0.0.1:514\"}]\n"
                                  "    max_message_bytes: 32MiB\n");
  CHECK(too_big.find("agent.yaml:4:24: ") == 0);
  CHECK(err("    listen: [{protocol: udp, address: \"127.0.0.1:514\"}]\n    max_message_bytes: 100\n")
            .find("between") != std::string::npos);
  CHECK(err("    listen: [{protocol: udp, address: \"127.0.0.1:514\"}]\n    max_connections: 0\n")
            .find("between") != std::string::npos);
  CHECK(err("    listen: [{protocol: udp, address: \"127.0.0.1:514\"}]\n    idle_timeout: 10ms\n")
            .find("idle_timeout") != std::string::npos);
}

}  // namespace
}  // namespace logship::agent
