#include "collector/sinks/postgres/copy_encoder.h"

#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include <algorithm>

#include "common/record_id.h"

namespace logship::collector::postgres {
namespace {

constexpr uint64_t kObserved = 1700000000123456789ULL;  // 2023-11-14 22:13:20.123456789 UTC
constexpr int64_t kNanosPerDay = 86400LL * 1000000000LL;

enum Column { kId, kTs, kObservedTs, kHost, kAgent, kSource, kSeverity, kBody, kAttributes, kTraceId, kCorrelationId };

DecodedBatch MakeBatch() {
  DecodedBatch b;
  b.agent_id = "web-01";
  b.sequence = 3;
  b.batch->set_agent_id("web-01");
  b.batch->set_host("host-1");
  auto* src = b.batch->add_sources();
  src->set_name("/var/log/app.log");
  auto* kv = src->add_attributes();
  kv->set_key("service");
  kv->set_value("app");
  return b;
}

logship::v1::LogRecord* AddRecord(DecodedBatch& b, std::string body, uint64_t offset = 0) {
  auto* r = b.batch->add_records();
  const RecordId id = FileRecordId("web-01", FilePosition{1, 2, 3, offset});
  r->set_id(std::string(id.AsBytes()));
  r->set_body(std::move(body));
  r->set_observed_time_unix_nano(kObserved);
  r->set_source_index(0);
  return r;
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

// Rows (without their trailing newline), each split into raw COPY fields.
std::vector<std::vector<std::string>> Rows(const std::string& copy) {
  REQUIRE(!copy.empty());
  REQUIRE(copy.back() == '\n');
  std::vector<std::vector<std::string>> rows;
  for (const auto& line : Split(copy.substr(0, copy.size() - 1), '\n')) rows.push_back(Split(line, '\t'));
  return rows;
}

// What PostgreSQL reads from one COPY text field (no \N handling: callers check that).
std::string CopyUnescape(const std::string& f) {
  std::string out;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '\\') {
      out.push_back(f[i]);
      continue;
    }
    REQUIRE(i + 1 < f.size());
    const char c = f[++i];
    switch (c) {
      case 'n': out.push_back('\n'); break;
      case 't': out.push_back('\t'); break;
      case 'r': out.push_back('\r'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'v': out.push_back('\v'); break;
      case '\\': out.push_back('\\'); break;
      default:
        FAIL("unexpected COPY escape \\" << c);
    }
  }
  return out;
}

std::vector<std::string> EncodeOne(const DecodedBatch& b) {
  std::string out;
  EncodeCopyRows(b, &out);
  auto rows = Rows(out);
  REQUIRE(rows.size() == 1);
  return rows[0];
}

rapidjson::Document Attributes(const std::string& field) {
  rapidjson::Document d;
  const std::string json = CopyUnescape(field);
  d.Parse(json.c_str(), json.size());
  REQUIRE_MESSAGE(!d.HasParseError(), json);
  REQUIRE(d.IsObject());
  return d;
}

TEST_CASE("copy encoder: a plain record becomes one row with every column") {
  DecodedBatch b = MakeBatch();
  auto* r = AddRecord(b, "hello world");
  r->set_severity(9);
  const auto row = EncodeOne(b);
  REQUIRE(row.size() == 11);
  REQUIRE(Split(CopyColumns(), ',').size() == 11);
  CHECK(row[kId] == FileRecordId("web-01", FilePosition{1, 2, 3, 0}).ToUuid());
  CHECK(row[kTs] == "2023-11-14 22:13:20.123456+00");
  CHECK(row[kObservedTs] == "2023-11-14 22:13:20.123456+00");
  CHECK(row[kHost] == "host-1");
  CHECK(row[kAgent] == "web-01");
  CHECK(row[kSource] == "/var/log/app.log");
  CHECK(row[kSeverity] == "9");
  CHECK(row[kBody] == "hello world");
  const auto attrs = Attributes(row[kAttributes]);
  CHECK(attrs["service"] == "app");
  CHECK_FALSE(attrs.HasMember("logship.escaped"));
  CHECK(row[kTraceId] == "\\N");
  CHECK(row[kCorrelationId] == "\\N");
}

TEST_CASE("copy encoder: tab, newline, carriage return and backslash in the body are COPY-escaped") {
  DecodedBatch b = MakeBatch();
  const std::string body = "a\tb\nc\rd\\e";
  AddRecord(b, body);
  const auto row = EncodeOne(b);  // exactly one row of 11 fields despite the tab and newline
  REQUIRE(row.size() == 11);
  CHECK(row[kBody] == "a\\tb\\nc\\rd\\\\e");
  CHECK(CopyUnescape(row[kBody]) == body);
  CHECK_FALSE(Attributes(row[kAttributes]).HasMember("logship.escaped"));  // valid UTF-8: not escaped
}

TEST_CASE("copy encoder: an invalid UTF-8 body is stored as \\xNN text and flagged") {
  DecodedBatch b = MakeBatch();
  AddRecord(b, "bad \xff byte");
  const auto row = EncodeOne(b);
  REQUIRE(row.size() == 11);
  // The COPY text holds a doubled backslash, so PostgreSQL stores the four characters \xff.
  CHECK(row[kBody] == "bad \\\\xff byte");
  CHECK(CopyUnescape(row[kBody]) == "bad \\xff byte");
  const auto attrs = Attributes(row[kAttributes]);
  REQUIRE(attrs.HasMember("logship.escaped"));
  CHECK(attrs["logship.escaped"] == "true");
  CHECK(attrs["service"] == "app");
}

TEST_CASE("copy encoder: NUL in the body is escaped and flagged") {
  DecodedBatch b = MakeBatch();
  AddRecord(b, std::string("a\0b", 3));
  const auto row = EncodeOne(b);
  CHECK(row[kBody] == "a\\\\x00b");
  CHECK(row[kBody].find('\0') == std::string::npos);
  CHECK(Attributes(row[kAttributes]).HasMember("logship.escaped"));
}

TEST_CASE("copy encoder: valid multi-byte UTF-8 passes through unchanged") {
  DecodedBatch b = MakeBatch();
  AddRecord(b, "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
  const auto row = EncodeOne(b);
  CHECK(row[kBody] == "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
  CHECK_FALSE(Attributes(row[kAttributes]).HasMember("logship.escaped"));
}

TEST_CASE("copy encoder: ts is the event time, else the observed time") {
  DecodedBatch b = MakeBatch();
  AddRecord(b, "no event time", 0);
  auto* with = AddRecord(b, "with event time", 10);
  with->set_time_unix_nano(1600000000000000000ULL);  // 2020-09-13 12:26:40 UTC
  std::string out;
  EncodeCopyRows(b, &out);
  const auto rows = Rows(out);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0][kTs] == rows[0][kObservedTs]);
  CHECK(rows[0][kTs] == "2023-11-14 22:13:20.123456+00");
  CHECK(rows[1][kTs] == "2020-09-13 12:26:40.000000+00");
  CHECK(rows[1][kObservedTs] == "2023-11-14 22:13:20.123456+00");
  CHECK(RecordTimeNanos(b.batch->records(0)) == static_cast<int64_t>(kObserved));
  CHECK(RecordTimeNanos(b.batch->records(1)) == 1600000000000000000LL);
}

TEST_CASE("copy encoder: trace_id and correlation_id attributes are lifted into their columns") {
  DecodedBatch b = MakeBatch();
  auto* r = AddRecord(b, "x");
  auto* t = r->add_attributes();
  t->set_key("trace_id");
  t->set_value("4bf92f3577b34da6a3ce929d0e0e4736");
  auto* c = r->add_attributes();
  c->set_key("correlation_id");
  c->set_value("req-42");
  auto* o = r->add_attributes();
  o->set_key("user");
  o->set_value("ann \"the admin\"\t\\");
  const auto row = EncodeOne(b);
  REQUIRE(row.size() == 11);
  CHECK(row[kTraceId] == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(row[kCorrelationId] == "req-42");
  const auto attrs = Attributes(row[kAttributes]);
  CHECK(attrs["user"] == "ann \"the admin\"\t\\");  // JSON and COPY escaping both round-trip
  CHECK(attrs["service"] == "app");
}

TEST_CASE("copy encoder: split lines carry a logship.partial attribute") {
  DecodedBatch b = MakeBatch();
  AddRecord(b, "part one", 0)->set_flags(logship::v1::LogRecord::FLAG_PARTIAL);
  AddRecord(b, "part two", 8)->set_flags(logship::v1::LogRecord::FLAG_PARTIAL | logship::v1::LogRecord::FLAG_LAST_PART);
  std::string out;
  EncodeCopyRows(b, &out);
  const auto rows = Rows(out);
  REQUIRE(rows.size() == 2);
  CHECK(Attributes(rows[0][kAttributes])["logship.partial"] == "true");
  CHECK(Attributes(rows[1][kAttributes])["logship.partial"] == "last");
}

TEST_CASE("copy encoder: host, agent and source names are escaped too") {
  DecodedBatch b = MakeBatch();
  b.batch->set_host("h\tost");
  b.agent_id = "ag\\ent";
  b.batch->mutable_sources(0)->set_name("/var/log/we\nird\xff.log");
  AddRecord(b, "x");
  const auto row = EncodeOne(b);
  REQUIRE(row.size() == 11);
  CHECK(CopyUnescape(row[kHost]) == "h\tost");
  CHECK(CopyUnescape(row[kAgent]) == "ag\\ent");
  CHECK(CopyUnescape(row[kSource]) == "/var/log/we\nird\\xff.log");
}

TEST_CASE("copy encoder: severity is clamped to the OpenTelemetry range") {
  DecodedBatch b = MakeBatch();
  AddRecord(b, "a")->set_severity(-5);
  AddRecord(b, "b")->set_severity(99);
  std::string out;
  EncodeCopyRows(b, &out);
  const auto rows = Rows(out);
  CHECK(rows[0][kSeverity] == "0");
  CHECK(rows[1][kSeverity] == "24");
}

TEST_CASE("copy encoder: EncodeCopyRows appends one line per record") {
  DecodedBatch b = MakeBatch();
  for (int i = 0; i < 5; ++i) AddRecord(b, "line " + std::to_string(i), static_cast<uint64_t>(i));
  std::string out = "EXISTING\n";
  EncodeCopyRows(b, &out);
  CHECK(out.rfind("EXISTING\n", 0) == 0);
  CHECK(std::count(out.begin(), out.end(), '\n') == 6);
}

TEST_CASE("copy encoder: DaysTouched lists each UTC day once") {
  DecodedBatch b = MakeBatch();
  CHECK(DaysTouched(b).empty());
  const int64_t day = static_cast<int64_t>(kObserved) / kNanosPerDay;  // 19675
  AddRecord(b, "observed only");                                       // falls back to observed: day
  AddRecord(b, "same day")->set_time_unix_nano(static_cast<uint64_t>(day * kNanosPerDay));
  AddRecord(b, "next day")->set_time_unix_nano(static_cast<uint64_t>((day + 1) * kNanosPerDay));
  AddRecord(b, "last ns of the day")->set_time_unix_nano(static_cast<uint64_t>((day + 1) * kNanosPerDay - 1));
  AddRecord(b, "older")->set_time_unix_nano(static_cast<uint64_t>((day - 3) * kNanosPerDay + 5));
  auto days = DaysTouched(b);
  std::sort(days.begin(), days.end());
  CHECK(days == std::vector<int64_t>{day - 3, day, day + 1});
  CHECK(day == 19675);
}

}  // namespace
}  // namespace logship::collector::postgres
