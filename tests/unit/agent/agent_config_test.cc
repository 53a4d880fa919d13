#include "agent/agent_config.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <climits>

#include "agent/sources/file/file_config.h"
#include "agent/sources/journald/journald_config.h"
#include "tests/unit/testing/config_error.h"

namespace logship::agent {
namespace {

using testing::ConfigErrorOf;
using testing::StartsWith;
using namespace std::chrono_literals;

constexpr const char* kMinimal =
    "sources:\n"
    "  - type: file\n"
    "    include: [\"/var/log/app/*.log\"]\n"
    "collector:\n"
    "  endpoints: [\"127.0.0.1:4740\"]\n";

std::string ThisHost() {
  char buf[HOST_NAME_MAX + 1] = {};
  REQUIRE(::gethostname(buf, sizeof buf - 1) == 0);
  return buf;
}

TEST_CASE("agent config: a full config parses with every value") {
  const AgentConfig c = ParseAgentConfig(
      "agent_id: web-01\n"
      "data_dir: /srv/logship\n"
      "sources:\n"
      "  - type: file\n"
      "    include: [\"/var/log/app/*.log\", \"/var/log/other.log\"]\n"
      "    exclude: [\"*.gz\"]\n"
      "    start_at: beginning\n"
      "    max_line_bytes: 64KiB\n"
      "    fingerprint_bytes: 256\n"
      "    poll_interval: 250ms\n"
      "    attributes: {service: app, team: core}\n"
      "  - type: file\n"
      "    include: [/var/log/syslog]\n"
      "batch: {max_records: 500, max_bytes: 256KiB, linger: 50ms}\n"
      "compression: {level: 3}\n"
      "spool: {max_bytes: 2GiB, segment_bytes: 8MiB, fsync: interval, fsync_interval: 2s}\n"
      "collector:\n"
      "  endpoints: [\"10.0.0.1:4740\", \"10.0.0.2:4740\"]\n"
      "  token_file: /etc/logship/agent.token\n"
      "  max_in_flight: 4\n"
      "  backoff_min: 100ms\n"
      "  backoff_max: 10s\n",
      "agent.yaml");
  CHECK(c.agent_id == "web-01");
  CHECK(c.data_dir == "/srv/logship");
  REQUIRE(c.SourcesOf<FileSourceConfig>("file").size() == 2);
  const FileSourceConfig& f = *c.SourcesOf<FileSourceConfig>("file")[0];
  CHECK(f.include == std::vector<std::string>{"/var/log/app/*.log", "/var/log/other.log"});
  CHECK(f.exclude == std::vector<std::string>{"*.gz"});
  CHECK(f.start_at_beginning);
  CHECK(f.max_line_bytes == 64u * 1024);
  CHECK(f.fingerprint_bytes == 256u);
  CHECK(f.poll_interval == 250ms);
  CHECK(f.attributes == Attributes{{"service", "app"}, {"team", "core"}});
  CHECK(c.SourcesOf<FileSourceConfig>("file")[1]->include == std::vector<std::string>{"/var/log/syslog"});
  CHECK_FALSE(c.SourcesOf<FileSourceConfig>("file")[1]->start_at_beginning);
  CHECK(c.batch.max_records == 500u);
  CHECK(c.batch.max_bytes == 256u * 1024);
  CHECK(c.batch.linger == 50ms);
  CHECK(c.compression_level == 3);
  CHECK(c.spool.dir == "/srv/logship/spool");
  CHECK(c.spool.max_bytes == 2ull << 30);
  CHECK(c.spool.segment_bytes == 8u << 20);
  CHECK(c.spool.fsync == spool::FsyncPolicy::kInterval);
  CHECK(c.fsync_interval == 2s);
  CHECK(c.collector.endpoints == std::vector<std::string>{"10.0.0.1:4740", "10.0.0.2:4740"});
  CHECK(c.collector.token_file == "/etc/logship/agent.token");
  CHECK(c.collector.max_in_flight == 4u);
  CHECK(c.collector.backoff_min == 100ms);
  CHECK(c.collector.backoff_max == 10s);
}

TEST_CASE("agent config: omitted keys take their documented defaults") {
  const AgentConfig c = ParseAgentConfig(kMinimal, "agent.yaml");
  CHECK(c.agent_id == ThisHost());
  CHECK(c.host == ThisHost());
  CHECK(c.data_dir == "/var/lib/logship");
  REQUIRE(c.SourcesOf<FileSourceConfig>("file").size() == 1);
  const FileSourceConfig& f = *c.SourcesOf<FileSourceConfig>("file")[0];
  CHECK(f.exclude.empty());
  CHECK_FALSE(f.start_at_beginning);  // start_at: end
  CHECK(f.max_line_bytes == 1u << 20);
  CHECK(f.attributes.empty());
  CHECK(c.batch.max_records == 10000u);
  CHECK(c.batch.max_bytes == 1u << 20);
  CHECK(c.batch.linger == 200ms);
  CHECK(c.compression_level == 1);
  CHECK(c.spool.dir == "/var/lib/logship/spool");
  CHECK(c.spool.max_bytes == 1ull << 30);
  CHECK(c.spool.fsync == spool::FsyncPolicy::kBatch);
  CHECK(c.collector.endpoints == std::vector<std::string>{"127.0.0.1:4740"});
  CHECK(c.collector.token_file.empty());
  CHECK(c.collector.max_in_flight == 8u);
}

TEST_CASE("agent config: a typo in a nested flow map fails at the key") {
  const std::string err = ConfigErrorOf([] {
    ParseAgentConfig(std::string(kMinimal) + "batch: {max_record: 5}\n", "agent.yaml");
  });
  CHECK_MESSAGE(StartsWith(err, "agent.yaml:6:9: "), err);
  CHECK(err.find("unknown key \"max_record\"") != std::string::npos);
}

TEST_CASE("agent config: a typo in a source fails at the key") {
  const std::string err = ConfigErrorOf([] {
    ParseAgentConfig(
        "sources:\n"
        "  - type: file\n"
        "    include: [/var/log/a.log]\n"
        "    exlude: [\"*.gz\"]\n"
        "collector: {endpoints: [\"h:1\"]}\n",
        "agent.yaml");
  });
  CHECK_MESSAGE(StartsWith(err, "agent.yaml:4:5: "), err);
  CHECK(err.find("unknown key \"exlude\"") != std::string::npos);
}

TEST_CASE("agent config: an unknown top-level key fails") {
  const std::string err =
      ConfigErrorOf([] { ParseAgentConfig(std::string(kMinimal) + "colector: {}\n", "agent.yaml"); });
  CHECK_MESSAGE(StartsWith(err, "agent.yaml:6:1: "), err);
  CHECK(err.find("unknown key \"colector\"") != std::string::npos);
}

TEST_CASE("agent config: a journald source parses with its filters") {
  const AgentConfig c = ParseAgentConfig(
      "sources:\n"
      "  - type: journald\n"
      "    directory: /var/log/journal/remote\n"
      "    units: [nginx.service, sshd.service]\n"
      "    priorities: [err, \"4\"]\n"
      "    start_at: beginning\n"
      "collector: {endpoints: [\"h:1\"]}\n",
      "agent.yaml");
  CHECK(c.SourcesOf<FileSourceConfig>("file").empty());
  REQUIRE(c.SourcesOf<JournaldSourceConfig>("journald").size() == 1);
  const JournaldSourceConfig& j = *c.SourcesOf<JournaldSourceConfig>("journald")[0];
  CHECK(j.directory == "/var/log/journal/remote");
  CHECK(j.units == std::vector<std::string>{"nginx.service", "sshd.service"});
  CHECK(j.priorities == std::vector<int>{3, 4});
  CHECK(j.start_at_beginning);
}

TEST_CASE("agent config: sources get default names by position unless named") {
  const AgentConfig c = ParseAgentConfig(
      "sources:\n"
      "  - {type: file, include: [/a]}\n"
      "  - {type: journald}\n"
      "  - {type: file, include: [/b], name: nginx}\n"
      "collector: {endpoints: [\"h:1\"]}\n",
      "agent.yaml");
  REQUIRE(c.SourcesOf<FileSourceConfig>("file").size() == 2);
  REQUIRE(c.SourcesOf<JournaldSourceConfig>("journald").size() == 1);
  CHECK(c.SourcesOf<FileSourceConfig>("file")[0]->name == "file-0");
  CHECK(c.SourcesOf<JournaldSourceConfig>("journald")[0]->name == "journald-1");
  CHECK(c.SourcesOf<FileSourceConfig>("file")[1]->name == "nginx");
  CHECK(c.http.listen == "127.0.0.1:9741");
}

TEST_CASE("agent config: journald options are checked") {
  const std::string rel = ConfigErrorOf([] {
    ParseAgentConfig("sources:\n  - type: journald\n    directory: journal\ncollector: {endpoints: [\"h:1\"]}\n",
                     "agent.yaml");
  });
  CHECK_MESSAGE(StartsWith(rel, "agent.yaml:3:16: "), rel);
  CHECK(rel.find("absolute") != std::string::npos);
  const std::string prio = ConfigErrorOf([] {
    ParseAgentConfig("sources:\n  - type: journald\n    priorities: [err, loud]\ncollector: {endpoints: [\"h:1\"]}\n",
                     "agent.yaml");
  });
  CHECK_MESSAGE(StartsWith(prio, "agent.yaml:3:23: "), prio);
  const std::string typo = ConfigErrorOf([] {
    ParseAgentConfig("sources:\n  - type: journald\n    unit: [a]\ncollector: {endpoints: [\"h:1\"]}\n", "agent.yaml");
  });
  CHECK_MESSAGE(StartsWith(typo, "agent.yaml:3:5: "), typo);
  CHECK(typo.find("unknown key \"unit\"") != std::string::npos);
}

TEST_CASE("agent config: an unknown source type is an error") {
  const std::string err = ConfigErrorOf([] {
    ParseAgentConfig("sources:\n  - type: kafka\ncollector: {endpoints: [\"h:1\"]}\n", "agent.yaml");
  });
  CHECK_MESSAGE(StartsWith(err, "agent.yaml:2:11: "), err);
  CHECK(err.find("unknown source type \"kafka\"") != std::string::npos);
}

TEST_CASE("agent config: relative include paths are rejected") {
  const std::string err = ConfigErrorOf([] {
    ParseAgentConfig(
        "sources:\n"
        "  - type: file\n"
        "    include: [\"logs/*.log\"]\n"
        "collector: {endpoints: [\"h:1\"]}\n",
        "agent.yaml");
  });
  CHECK_MESSAGE(StartsWith(err, "agent.yaml:3:14: "), err);
  CHECK(err.find("absolute") != std::string::npos);
  CHECK(err.find("logs/*.log") != std::string::npos);
}

TEST_CASE("agent config: a bad fsync value lists the choices") {
  const std::string err = ConfigErrorOf([] {
    ParseAgentConfig(std::string(kMinimal) + "spool: {fsync: always}\n", "agent.yaml");
  });
  CHECK_MESSAGE(StartsWith(err, "agent.yaml:6:16: spool.fsync: "), err);
  CHECK(err.find("batch, interval, never") != std::string::npos);
}

TEST_CASE("agent config: missing sources or collector are errors") {
  CHECK(ConfigErrorOf([] { ParseAgentConfig("collector: {endpoints: [\"h:1\"]}\n", "a.yaml"); })
            .find("missing required key \"sources\"") != std::string::npos);
  CHECK(ConfigErrorOf([] {
          ParseAgentConfig("sources: [{type: file, include: [/a]}]\n", "a.yaml");
        }).find("missing required key \"collector\"") != std::string::npos);
  CHECK(ConfigErrorOf([] {
          ParseAgentConfig("sources: []\ncollector: {endpoints: [\"h:1\"]}\n", "a.yaml");
        }).find("needs at least one source") != std::string::npos);
}

TEST_CASE("agent config: endpoints must be host:port") {
  const std::string err = ConfigErrorOf([] {
    ParseAgentConfig("sources: [{type: file, include: [/a]}]\ncollector: {endpoints: [localhost]}\n", "a.yaml");
  });
  CHECK_MESSAGE(StartsWith(err, "a.yaml:2:24: "), err);
  CHECK(err.find("host:port") != std::string::npos);
}

TEST_CASE("agent config: out-of-range and malformed numbers are errors") {
  CHECK(StartsWith(ConfigErrorOf([] {
                     ParseAgentConfig(std::string(kMinimal) + "batch: {max_records: 0}\n", "a.yaml");
                   }),
                   "a.yaml:6:22: batch.max_records: "));
  CHECK(StartsWith(ConfigErrorOf([] {
                     ParseAgentConfig(std::string(kMinimal) + "batch: {linger: soon}\n", "a.yaml");
                   }),
                   "a.yaml:6:17: batch.linger: "));
  CHECK(StartsWith(ConfigErrorOf([] {
                     ParseAgentConfig(std::string(kMinimal) + "spool: {max_bytes: lots}\n", "a.yaml");
                   }),
                   "a.yaml:6:20: spool.max_bytes: "));
}

}  // namespace
}  // namespace logship::agent
