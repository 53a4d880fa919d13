#include "collector/sinks/postgres/pg_queries.h"

#include <doctest/doctest.h>

namespace logship::collector::postgres {
namespace {

SearchFilter Hostile() {
  SearchFilter f;
  f.from_us = 1;
  f.to_us = 2;
  f.host = "web'; DROP TABLE logs; --";
  f.source = "/var/log/$1.log";
  f.agent = "a\"b";
  f.text = "100%_done\\";
  f.min_severity = 13;
  f.attributes = {{"service", "check'out"}, {"k\"", "<v>"}};
  return f;
}

TEST_CASE("postgres log reader queries: user input travels only as parameters") {
  const SearchFilter f = Hostile();
  const Cursor c{1234567, "0123abcd-0000-0000-0000-00000000abcd"};
  for (const SqlQuery& q : {BuildSearch("logs", f, c, 50), BuildVolume("logs", f, 60), BuildTail("logs", f, 5, 100),
                            BuildCorrelation("logs", "x' OR '1'='1", 10)}) {
    for (const char* needle : {"DROP", "'1'='1", "check", "$1.log", "100%", "a\"b", "<v>"})
      CHECK_MESSAGE(q.sql.find(needle) == std::string::npos, q.sql);
    // Every placeholder has a parameter and every parameter a placeholder.
    for (size_t i = 1; i <= q.params.size(); ++i)
      CHECK_MESSAGE(q.sql.find("$" + std::to_string(i)) != std::string::npos, q.sql);
    CHECK(q.sql.find("$" + std::to_string(q.params.size() + 1)) == std::string::npos);
  }
}

TEST_CASE("postgres log reader queries: search is newest first, bounded, and pages with (ts, id)") {
  SearchFilter f;
  f.from_us = 10;
  f.to_us = 20;
  const SqlQuery first = BuildSearch("logs", f, std::nullopt, 100);
  CHECK(first.params == std::vector<std::string>{"10", "20", "101"});
  CHECK(first.sql.find("ORDER BY ts DESC, id DESC LIMIT $3::int") != std::string::npos);
  CHECK(first.sql.find("FROM \"logs\" WHERE") != std::string::npos);
  const SqlQuery next = BuildSearch("logs", f, Cursor{15, "u"}, 100);
  CHECK(next.params == std::vector<std::string>{"10", "20", "15", "u", "101"});
  CHECK(next.sql.find("(ts, id) < (") != std::string::npos);
  CHECK(next.sql.find("$4::uuid)") != std::string::npos);
}

TEST_CASE("postgres log reader queries: filters become conditions with escaped LIKE text and a JSON containment") {
  const SqlQuery q = BuildSearch("logs", Hostile(), std::nullopt, 10);
  CHECK(q.sql.find("host = $3") != std::string::npos);
  CHECK(q.sql.find("source = $4") != std::string::npos);
  CHECK(q.sql.find("agent_id = $5") != std::string::npos);
  CHECK(q.sql.find("severity >= $6::smallint") != std::string::npos);
  CHECK(q.sql.find("body ILIKE $7") != std::string::npos);
  CHECK(q.sql.find("attributes @> $8::jsonb") != std::string::npos);
  REQUIRE(q.params.size() == 9);
  CHECK(q.params[2] == "web'; DROP TABLE logs; --");
  CHECK(q.params[6] == "%100\\%\\_done\\\\%");
  CHECK(q.params[7] == "{\"service\":\"check'out\",\"k\\\"\":\"<v>\"}");  // a parameter: no HTML escaping needed
}

TEST_CASE("postgres log reader queries: correlation is oldest first over both id columns") {
  const SqlQuery q = BuildCorrelation("app_logs", "req-42", 1001);
  CHECK(q.params == std::vector<std::string>{"req-42", "1001"});
  CHECK(q.sql.find("trace_id = $1 OR correlation_id = $1 ORDER BY ts, id LIMIT $2::int") != std::string::npos);
  CHECK(q.sql.find("\"app_logs\"") != std::string::npos);
}

TEST_CASE("postgres log reader queries: volume groups by step and severity class") {
  SearchFilter f;
  f.from_us = 0;
  f.to_us = 3600000000;
  const SqlQuery q = BuildVolume("logs", f, 60);
  CHECK(q.params == std::vector<std::string>{"0", "3600000000", "60"});
  CHECK(q.sql.find("GROUP BY 1, 2 ORDER BY 1, 2") != std::string::npos);
  CHECK(q.sql.find("WHEN severity < 17 THEN 'warn'") != std::string::npos);
}

}  // namespace
}  // namespace logship::collector::postgres
