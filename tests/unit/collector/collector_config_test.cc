#include "collector/collector_config.h"

#include "collector/sinks/postgres/postgres_config.h"

#include <doctest/doctest.h>

#include "tests/unit/testing/config_error.h"

namespace logship::collector {
namespace {

using testing::ConfigErrorOf;
using testing::StartsWith;

TEST_CASE("collector config: a full config parses with every value") {
  const CollectorConfig c = ParseCollectorConfig(
      "listen: 127.0.0.1:5000\n"
      "limits: {max_frame_bytes: 8MiB, max_uncompressed_bytes: 32MiB, max_records: 5000}\n"
      "sinks:\n"
      "  postgres:\n"
      "    dsn: \"host=127.0.0.1 dbname=logs\"\n"
      "    table: app_logs_2\n"
      "    connections: 2\n"
      "    partitions_ahead_days: 7\n"
      "  blackhole: {}\n",
      "collector.yaml");
  CHECK(c.listen == "127.0.0.1:5000");
  CHECK(c.limits.max_frame_bytes == 8u << 20);
  CHECK(c.limits.max_uncompressed_bytes == 32u << 20);
  CHECK(c.limits.max_records == 5000u);
  REQUIRE(c.SinkOf<postgres::PostgresConfig>("postgres") != nullptr);
  CHECK(c.SinkOf<postgres::PostgresConfig>("postgres")->dsn == "host=127.0.0.1 dbname=logs");
  CHECK(c.SinkOf<postgres::PostgresConfig>("postgres")->table == "app_logs_2");
  CHECK(c.SinkOf<postgres::PostgresConfig>("postgres")->connections == 2u);
  CHECK(c.SinkOf<postgres::PostgresConfig>("postgres")->partitions_ahead_days == 7u);
  CHECK(c.SinkOf<SinkConfig>("blackhole") != nullptr);
}

TEST_CASE("collector config: omitted keys take their defaults") {
  const CollectorConfig c = ParseCollectorConfig("sinks:\n  postgres: {dsn: \"dbname=logs\"}\n", "c.yaml");
  CHECK(c.listen == "127.0.0.1:4740");  // loopback unless configured (secure by default)
  CHECK_FALSE(c.insecure);
  CHECK(c.limits.max_frame_bytes == 16u << 20);
  CHECK(c.limits.max_uncompressed_bytes == 64u << 20);
  CHECK(c.limits.max_records == 100000u);
  REQUIRE(c.SinkOf<postgres::PostgresConfig>("postgres") != nullptr);
  CHECK(c.SinkOf<postgres::PostgresConfig>("postgres")->table == "logs");
  CHECK(c.SinkOf<postgres::PostgresConfig>("postgres")->connections == 4u);
  CHECK(c.SinkOf<SinkConfig>("blackhole") == nullptr);
}

TEST_CASE("collector config: the HTTP listener defaults on, can be turned off, and must be host:port") {
  CHECK(ParseCollectorConfig("sinks: {blackhole: {}}\n", "c.yaml").http.listen == "0.0.0.0:9740");
  CHECK(ParseCollectorConfig("sinks: {blackhole: {}}\nhttp: {listen: \"\"}\n", "c.yaml").http.listen.empty());
  CHECK(ParseCollectorConfig("sinks: {blackhole: {}}\nhttp: {listen: \"127.0.0.1:1\"}\n", "c.yaml").http.listen ==
        "127.0.0.1:1");
  const std::string err =
      ConfigErrorOf([] { ParseCollectorConfig("sinks: {blackhole: {}}\nhttp: {listen: 9740}\n", "c.yaml"); });
  CHECK_MESSAGE(StartsWith(err, "c.yaml:2:16: http.listen: "), err);
}

TEST_CASE("collector config: no unauthenticated listener beyond loopback unless insecure: true") {
  const std::string sinks = "sinks: {blackhole: {}}\n";
  const std::string err = ConfigErrorOf([&] { ParseCollectorConfig("listen: 0.0.0.0:4740\n" + sinks, "c.yaml"); });
  CHECK_MESSAGE(err.find("without authentication") != std::string::npos, err);
  CHECK(ParseCollectorConfig("listen: 127.0.0.1:4740\n" + sinks, "c.yaml").listen == "127.0.0.1:4740");
  CHECK(ParseCollectorConfig("listen: localhost:4740\n" + sinks, "c.yaml").listen == "localhost:4740");
  CHECK(ParseCollectorConfig("listen: 0.0.0.0:4740\ninsecure: true\n" + sinks, "c.yaml").insecure);
  CHECK(ParseCollectorConfig("listen: 0.0.0.0:4740\nauth: {tokens: [{agent: web, token_file: /t}]}\n" + sinks, "c.yaml")
            .tokens.size() == 1u);
  CHECK(ParseCollectorConfig("listen: 0.0.0.0:4740\nauth: {tokens: [{agent: \"*\", token_file: /t}]}\n" + sinks,
                             "c.yaml").tokens[0].agent == "*");
  CHECK(ParseCollectorConfig("listen: 0.0.0.0:4740\ntls: {cert_file: /c, key_file: /k, client_ca_file: /ca}\n" + sinks,
                             "c.yaml").tls.has_value());
  // TLS without client certificates authenticates nobody.
  CHECK(ConfigErrorOf([&] {
          ParseCollectorConfig("listen: 0.0.0.0:4740\ntls: {cert_file: /c, key_file: /k}\n" + sinks, "c.yaml");
        }).find("without authentication") != std::string::npos);
}

TEST_CASE("collector config: a blackhole sink with no settings is enough") {
  const CollectorConfig c = ParseCollectorConfig("sinks:\n  blackhole:\n", "c.yaml");
  CHECK(c.SinkOf<SinkConfig>("blackhole") != nullptr);
  CHECK(c.SinkOf<postgres::PostgresConfig>("postgres") == nullptr);
}

TEST_CASE("collector config: sinks keep the file's order (required sinks are written in it)") {
  const CollectorConfig a =
      ParseCollectorConfig("sinks:\n  elasticsearch: {urls: ['http://x:9200']}\n  postgres: {dsn: x}\n", "c.yaml");
  REQUIRE(a.sinks.size() == 2);
  CHECK(a.sinks[0]->type == "elasticsearch");
  CHECK(a.sinks[1]->type == "postgres");
  const CollectorConfig b =
      ParseCollectorConfig("sinks:\n  postgres: {dsn: x}\n  elasticsearch: {urls: ['http://x:9200']}\n", "c.yaml");
  CHECK(b.sinks[0]->type == "postgres");
}

TEST_CASE("collector config: table names must be lower-case SQL identifiers") {
  for (const char* bad : {"Logs", "1logs", "logs;drop", "my-logs", "\"logs\"", "public.logs",
                          "a_very_long_table_name_that_goes_past_the_limit_x"}) {
    const std::string yaml = std::string("sinks:\n  postgres:\n    dsn: x\n    table: '") + bad + "'\n";
    const std::string err = ConfigErrorOf([&] { ParseCollectorConfig(yaml, "c.yaml"); });
    CHECK_MESSAGE(StartsWith(err, "c.yaml:4:12: sinks.postgres.table: "), err);
    CHECK_MESSAGE(err.find("identifier") != std::string::npos, err);
  }
  for (const char* good : {"logs", "_logs", "logs_2024", "l"}) {
    const std::string yaml = std::string("sinks:\n  postgres:\n    dsn: x\n    table: ") + good + "\n";
    CHECK_NOTHROW(ParseCollectorConfig(yaml, "c.yaml"));
  }
}

TEST_CASE("collector config: no sinks is an error") {
  CHECK(ConfigErrorOf([] { ParseCollectorConfig("listen: 0.0.0.0:1\n", "c.yaml"); })
            .find("missing required key \"sinks\"") != std::string::npos);
  const std::string err = ConfigErrorOf([] { ParseCollectorConfig("listen: 0.0.0.0:1\nsinks: {}\n", "c.yaml"); });
  CHECK_MESSAGE(StartsWith(err, "c.yaml:2:8: sinks: "), err);
  CHECK(err.find("at least one sink") != std::string::npos);
}

TEST_CASE("collector config: an unknown sink is an error at its key") {
  const std::string err = ConfigErrorOf([] {
    ParseCollectorConfig("sinks:\n  blackhole: {}\n  kafkaa: {}\n", "c.yaml");
  });
  CHECK_MESSAGE(StartsWith(err, "c.yaml:3:3: "), err);
  CHECK(err.find("unknown key \"kafkaa\"") != std::string::npos);
}

TEST_CASE("collector config: a typo inside the postgres sink is an error at the key") {
  const std::string err = ConfigErrorOf([] {
    ParseCollectorConfig("sinks:\n  postgres:\n    dsn: x\n    tabel: logs\n", "c.yaml");
  });
  CHECK_MESSAGE(StartsWith(err, "c.yaml:4:5: "), err);
  CHECK(err.find("unknown key \"tabel\"") != std::string::npos);
}

TEST_CASE("collector config: postgres needs a dsn") {
  const std::string err = ConfigErrorOf([] { ParseCollectorConfig("sinks:\n  postgres: {table: logs}\n", "c.yaml"); });
  CHECK_MESSAGE(StartsWith(err, "c.yaml:2:13: "), err);
  CHECK(err.find("missing required key \"dsn\"") != std::string::npos);
}

TEST_CASE("collector config: listen must be host:port and limits are bounded") {
  CHECK(StartsWith(ConfigErrorOf([] { ParseCollectorConfig("listen: 4740\nsinks: {blackhole: {}}\n", "c.yaml"); }),
                   "c.yaml:1:9: listen: "));
  CHECK(StartsWith(ConfigErrorOf([] {
                     ParseCollectorConfig("limits: {max_frame_bytes: 10}\nsinks: {blackhole: {}}\n", "c.yaml");
                   }),
                   "c.yaml:1:27: limits.max_frame_bytes: "));
  CHECK(StartsWith(ConfigErrorOf([] {
                     ParseCollectorConfig("limits: {max_recods: 10}\nsinks: {blackhole: {}}\n", "c.yaml");
                   }),
                   "c.yaml:1:10: "));
}

TEST_CASE("collector config: writes in flight per stream fit in the frames a stream holds") {
  const auto limits = [](const std::string& l) {
    return ParseCollectorConfig("limits: {" + l + "}\nsinks: {blackhole: {}}\n", "c.yaml").limits;
  };
  CHECK(limits("").stream_frames_in_flight == 8u);
  CHECK(limits("").stream_writes_in_flight == 4u);
  CHECK(limits("stream_writes_in_flight: 1").stream_writes_in_flight == 1u);
  CHECK(limits("stream_frames_in_flight: 2").stream_writes_in_flight == 2u);  // unset: follows the frames
  CHECK(limits("stream_frames_in_flight: 16, stream_writes_in_flight: 16").stream_writes_in_flight == 16u);
  const std::string err = ConfigErrorOf([&] { limits("stream_frames_in_flight: 2, stream_writes_in_flight: 3"); });
  CHECK(err.find("limits.stream_writes_in_flight: is 3, more than stream_frames_in_flight (2)") != std::string::npos);
}

TEST_CASE("collector config: a kafka sink raises the frames and writes in flight it was not given") {
  // linger.ms holds each write: the sink asks for 16 per stream (SinkConfig::WritesInFlight).
  const auto limits = [](const std::string& l) {
    return ParseCollectorConfig("limits: {" + l + "}\nsinks: {kafka: {brokers: [\"k:9092\"]}, blackhole: {}}\n",
                                "c.yaml").limits;
  };
  CHECK(limits("").stream_frames_in_flight == 16u);
  CHECK(limits("").stream_writes_in_flight == 16u);
  const Limits writes = limits("stream_writes_in_flight: 2");  // the operator's word stands
  CHECK(writes.stream_writes_in_flight == 2u);
  CHECK(writes.stream_frames_in_flight == 16u);
  const Limits frames = limits("stream_frames_in_flight: 6");  // writes never above the frames
  CHECK(frames.stream_frames_in_flight == 6u);
  CHECK(frames.stream_writes_in_flight == 6u);
  CHECK(limits("stream_frames_in_flight: 32").stream_writes_in_flight == 16u);
}

}  // namespace
}  // namespace logship::collector
