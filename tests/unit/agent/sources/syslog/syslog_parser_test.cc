#include "agent/sources/syslog/syslog_message.h"

#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "agent/sources/syslog/syslog_grammar.h"

namespace logship::agent::syslog {
namespace {

constexpr int64_t kSec = 1'000'000'000;

// 2024-06-15T12:00:00Z, the parser's "now" unless a test says otherwise.
ParseClock Noon() { return ParseClock{DaysFromCivil(2024, 6, 15) * 86400 * kSec + 12 * 3600 * kSec, 0}; }

int64_t At(int y, unsigned m, unsigned d, int hh, int mm, int ss) {
  return (DaysFromCivil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss) * kSec;
}

// On the heap: a parsed message must not move (its views may point into itself).
std::unique_ptr<SyslogMessage> Parse(std::string_view raw, ParseClock clock = Noon()) {
  auto m = std::make_unique<SyslogMessage>();
  ParseSyslog(raw, clock, m.get());
  return m;
}

using F = SyslogMessage::Format;

TEST_CASE("syslog parser: RFC 5424 with every header field and structured data") {
  const std::string raw =
      "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 1234 ID47 "
      "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"][origin ip=\"10.0.0.1\"] "
      "An application event log entry...";
  const auto m = Parse(raw);
  REQUIRE(m->format == F::kRfc5424);
  CHECK(m->pri == 165);
  CHECK(m->facility() == 20);
  CHECK(m->severity() == 5);
  CHECK(FacilityName(m->facility()) == "local4");
  CHECK(SeverityName(m->severity()) == "notice");
  CHECK(m->time_unix_nano == At(2003, 10, 11, 22, 14, 15) + 3'000'000);
  CHECK(m->hostname == "mymachine.example.com");
  CHECK(m->appname == "evntslog");
  CHECK(m->procid == "1234");
  CHECK(m->msgid == "ID47");
  REQUIRE(m->sd.size() == 4);
  CHECK(m->sd[0].id == "exampleSDID@32473");
  CHECK(m->sd[0].name == "iut");
  CHECK(m->sd[0].value == "3");
  CHECK(m->sd[2].name == "eventID");
  CHECK(m->sd[3].id == "origin");
  CHECK(m->sd[3].value == "10.0.0.1");
  CHECK(m->msg == "An application event log entry...");
  CHECK(m->error.empty());
}

TEST_CASE("syslog parser: RFC 5424 NILVALUEs, no MSG, offsets and the BOM") {
  auto m = Parse("<34>1 - - - - - -");
  REQUIRE(m->format == F::kRfc5424);
  CHECK(m->time_unix_nano == 0);
  CHECK(m->hostname.empty());
  CHECK(m->appname.empty());
  CHECK(m->procid.empty());
  CHECK(m->msgid.empty());
  CHECK(m->sd.empty());
  CHECK(m->msg.empty());

  m = Parse("<34>1 2003-08-24T05:14:15.000003-07:00 host su - ID47 - \xEF\xBB\xBF'su root' failed");
  REQUIRE(m->format == F::kRfc5424);
  CHECK(m->time_unix_nano == At(2003, 8, 24, 12, 14, 15) + 3000);
  CHECK(m->msg == "'su root' failed");  // the BOM says UTF-8; it is not content

  m = Parse("<34>1 2003-08-24T05:14:15+02:00 host su - - - body with [brackets] and \"quotes\"");
  CHECK(m->time_unix_nano == At(2003, 8, 24, 3, 14, 15));
  CHECK(m->msg == "body with [brackets] and \"quotes\"");
}

TEST_CASE("syslog parser: structured data escapes, elements without params, many params") {
  auto m = Parse(R"(<13>1 - h a - - [x@1 k="a\]b\"c\\d\e" empty=""][flag@1] msg)");
  REQUIRE(m->format == F::kRfc5424);
  REQUIRE(m->sd.size() == 3);
  CHECK(m->sd[0].value == R"(a]b"c\d\e)");  // \e is no escape: the backslash stays
  CHECK(m->sd[1].name == "empty");
  CHECK(m->sd[1].value.empty());
  CHECK(m->sd[2].id == "flag@1");
  CHECK(m->sd[2].name.empty());
  CHECK(m->msg == "msg");

  // Unescaped values of several params stay right after the arena grew.
  m = Parse(R"(<13>1 - h a - - [x@1 a="1\"" b="2\\" c="3\]"] m)");
  REQUIRE(m->sd.size() == 3);
  CHECK(m->sd[0].value == "1\"");
  CHECK(m->sd[1].value == "2\\");
  CHECK(m->sd[2].value == "3]");

  std::string many = "<13>1 - h a - - [x@1";
  for (int i = 0; i < 100; ++i) many += " p" + std::to_string(i) + "=\"v\"";
  many += "] tail";
  m = Parse(many);
  REQUIRE(m->format == F::kRfc5424);
  CHECK(m->sd.size() == kMaxSdParams);
  CHECK(m->sd_truncated);
  CHECK(m->msg == "tail");
}

TEST_CASE("syslog parser: RFC 3164 variants") {
  auto m = Parse("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8");
  REQUIRE(m->format == F::kRfc3164);
  CHECK(m->pri == 34);
  CHECK(m->time_unix_nano == At(2024, 10, 11, 22, 14, 15));  // the year that puts it nearest to June 2024
  CHECK(m->hostname == "mymachine");
  CHECK(m->appname == "su");
  CHECK(m->procid.empty());
  CHECK(m->msg == "'su root' failed for lonvick on /dev/pts/8");

  m = Parse("<13>Jun  5 10:00:00 web-01 sshd[4242]: Accepted publickey");
  REQUIRE(m->format == F::kRfc3164);
  CHECK(m->time_unix_nano == At(2024, 6, 5, 10, 0, 0));
  CHECK(m->hostname == "web-01");
  CHECK(m->appname == "sshd");
  CHECK(m->procid == "4242");
  CHECK(m->msg == "Accepted publickey");

  // No hostname (a local sender): the first word is shaped like a tag.
  m = Parse("<13>Jun 15 11:59:00 cron[77]: job done");
  CHECK(m->hostname.empty());
  CHECK(m->appname == "cron");
  CHECK(m->procid == "77");
  CHECK(m->msg == "job done");

  // No tag: hostname, then the content.
  m = Parse("<13>Jun 15 11:59:00 switch-3 %LINK-3-UPDOWN Interface Gi0/1 changed state");
  REQUIRE(m->format == F::kRfc3164);
  CHECK(m->hostname == "switch-3");
  CHECK(m->appname.empty());
  CHECK(m->msg == "%LINK-3-UPDOWN Interface Gi0/1 changed state");

  // Milliseconds after the BSD timestamp, and an RFC 3339 timestamp instead of it.
  m = Parse("<13>Jun 15 11:59:00.250 host app: x");
  CHECK(m->time_unix_nano == At(2024, 6, 15, 11, 59, 0) + 250'000'000);
  m = Parse("<13>2024-06-15T11:59:00Z host app[1]: x");
  REQUIRE(m->format == F::kRfc3164);
  CHECK(m->time_unix_nano == At(2024, 6, 15, 11, 59, 0));
  CHECK(m->appname == "app");
  CHECK(m->msg == "x");
}

TEST_CASE("syslog time: an RFC 3164 timestamp gets the year nearest to now") {
  // Received on 1 January 2025, 00:00:30 UTC: "Dec 31 23:59:50" was 40 s ago, in 2024.
  const ParseClock new_year{At(2025, 1, 1, 0, 0, 30), 0};
  int64_t t = 0;
  REQUIRE(ParseBsdTimestamp("Dec 31 23:59:50", new_year, &t) == 15);
  CHECK(t == At(2024, 12, 31, 23, 59, 50));
  // Received on 31 December 2024 from a host whose clock is ahead: "Jan  1" is 2025.
  const ParseClock old_year{At(2024, 12, 31, 23, 59, 0), 0};
  REQUIRE(ParseBsdTimestamp("Jan  1 00:01:00", old_year, &t) == 15);
  CHECK(t == At(2025, 1, 1, 0, 1, 0));
  // Feb 29 exists only in leap years: in 2025 it is 2024's.
  REQUIRE(ParseBsdTimestamp("Feb 29 12:00:00", ParseClock{At(2025, 3, 1, 0, 0, 0), 0}, &t) == 15);
  CHECK(t == At(2024, 2, 29, 12, 0, 0));
  // The sender's local time at UTC+2 is two hours ahead of UTC.
  REQUIRE(ParseBsdTimestamp("Jun 15 14:00:00", ParseClock{At(2024, 6, 15, 12, 0, 0), 7200}, &t) == 15);
  CHECK(t == At(2024, 6, 15, 12, 0, 0));
  CHECK(ParseBsdTimestamp("Foo 15 14:00:00", new_year, &t) == 0);
  CHECK(ParseBsdTimestamp("Jun 32 14:00:00", new_year, &t) == 0);
  CHECK(ParseBsdTimestamp("Jun 15 24:00:00", new_year, &t) == 0);
  CHECK(ParseBsdTimestamp("Jun 15 14:00", new_year, &t) == 0);
}

TEST_CASE("syslog time: RFC 3339 bounds") {
  int64_t t = -1;
  CHECK(ParseRfc3339("1970-01-01T00:00:00Z", &t));
  CHECK(t == 0);
  CHECK(ParseRfc3339("2024-02-29T23:59:59.123456789+00:00", &t));
  CHECK(t == At(2024, 2, 29, 23, 59, 59) + 123456789);
  CHECK(ParseRfc3339("9999-12-31T23:59:59Z", &t));  // valid, but past int64 nanoseconds: no time
  CHECK(t == 0);
  CHECK_FALSE(ParseRfc3339("2023-02-29T00:00:00Z", &t));
  CHECK_FALSE(ParseRfc3339("2024-01-01T00:00:00", &t));  // no zone
  CHECK_FALSE(ParseRfc3339("2024-01-01T00:00:00.Z", &t));
  CHECK_FALSE(ParseRfc3339("2024-01-01T00:00:00.1234567890Z", &t));
  CHECK_FALSE(ParseRfc3339("2024-13-01T00:00:00Z", &t));
  CHECK_FALSE(ParseRfc3339("2024-01-01T00:00:00+24:00", &t));
}

TEST_CASE("syslog parser: hostile input is never dropped, only flagged") {
  struct Case {
    std::string raw;
    int pri;
  };
  const Case cases[] = {
      {"no PRI at all", -1},
      {"<192>1 - - - - - - PRI over 191", -1},
      {"<999>Oct 11 22:14:15 h t: x", -1},
      {"<>1 - - - - - -", -1},
      {"<12", -1},
      {"<0013>1 - - - - - -", -1},
      {"<13>1 2024-01-01T00:00:00Z", 13},             // header cut after the timestamp
      {"<13>1 2024-01-01T00:00:00Z host app", 13},    // cut in the middle
      {"<13>1 - h a - - [unterminated x=\"y] msg", 13},
      {"<13>1 - h a - - [x@1 k=v] msg", 13},           // value without quotes
      {"<13>1 - h a - - [x@1 k=\"v\"]msg", 13},        // no SP before MSG
      {"<13>1 2024-99-01T00:00:00Z h a - - - x", 13},
      {"<13>1 - " + std::string(256, 'h') + " a - - - x", 13},  // HOSTNAME over 255
      {"<13>1 - h " + std::string(49, 'a') + " - - - x", 13},   // APP-NAME over 48
      {"<13>not a timestamp", 13},
      {"<13>Oct 11 22:14:15", 13},  // a timestamp and nothing else is a (empty) message, not this one:
  };
  for (const auto& c : cases) {
    CAPTURE(c.raw);
    const auto m = Parse(c.raw);
    if (c.raw == "<13>Oct 11 22:14:15") {
      CHECK(m->format == F::kRfc3164);
      CHECK(m->msg.empty());
      continue;
    }
    CHECK(m->format == F::kUnparsed);
    CHECK(m->pri == c.pri);
    CHECK(m->msg == c.raw);  // the message as received
    CHECK_FALSE(m->error.empty());
    CHECK(m->hostname.empty());
    CHECK(m->sd.empty());
  }
}

TEST_CASE("syslog parser: NUL and invalid UTF-8 are kept as bytes") {
  const char kBody[] = "bad \xff\xfe utf-8 and a \0 NUL";
  const std::string body(kBody, sizeof kBody - 1);
  const std::string input = "<14>1 - h app - - - " + body;  // the message views it: keep it alive
  auto m = Parse(input);
  REQUIRE(m->format == F::kRfc5424);
  CHECK(m->msg == body);
  const std::string raw = std::string("\0\xff<14>", 6) + "x";
  m = Parse(raw);
  CHECK(m->format == F::kUnparsed);
  CHECK(m->msg == raw);
  // A trailer is trimmed by the caller, never by the parser.
  CHECK(TrimTrailer(std::string("<14>1 - - - - - - x\r\n\0", 22)) == "<14>1 - - - - - - x");
}

TEST_CASE("syslog parser: PRI") {
  int pri = -1;
  CHECK(ParsePri("<0>", &pri) == 3);
  CHECK(pri == 0);
  CHECK(ParsePri("<191>x", &pri) == 5);
  CHECK(pri == 191);
  CHECK(ParsePri("<192>", &pri) == 0);
  CHECK(ParsePri("<1a>", &pri) == 0);
  CHECK(ParsePri("13>", &pri) == 0);
}

}  // namespace
}  // namespace logship::agent::syslog
