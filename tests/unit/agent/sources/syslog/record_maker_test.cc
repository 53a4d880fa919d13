#include "agent/sources/syslog/record_maker.h"

#include <doctest/doctest.h>

#include <set>

#include "agent/sources/syslog/syslog_state.pb.h"
#include "logship/v1/record.pb.h"
#include "tests/unit/agent/sources/syslog/capture_emitter.h"

namespace logship::agent::syslog {
namespace {

constexpr uint32_t kPartial = logship::v1::LogRecord::FLAG_PARTIAL;
constexpr uint32_t kLast = logship::v1::LogRecord::FLAG_LAST_PART;

struct Fixture {
  explicit Fixture(size_t max = 1024, uint64_t last_sequence = 0)
      : identity("agent-1", "syslog:test", last_sequence, Nonce{1, 2, 3}),
        positions("syslog:test"),
        maker(source_attributes, max, identity, positions, counters) {
    maker.set_emitter(&out);
  }
  Attributes source_attributes{{"env", "test"}};
  SyslogCounters counters;
  SyslogIdentity identity;
  SyslogPositions positions;
  RecordMaker maker;
  testing::CaptureEmitter out;
};

uint64_t SequenceIn(const std::string& delta) {
  syslog::v1::SyslogSourceState s;
  REQUIRE(s.ParseFromString(delta));
  REQUIRE(s.sources_size() == 1);
  CHECK(s.sources(0).key() == "syslog:test");
  return s.sources(0).sequence();
}

TEST_CASE("record maker: an RFC 5424 message becomes a record with its attributes") {
  Fixture f;
  f.maker.ShipDatagram("<165>1 2003-10-11T22:14:15.003Z mymachine evntslog 1234 ID47 "
                       "[exampleSDID@32473 iut=\"3\" eventSource=\"App\"][flag@1] An event\n",
                       "10.1.2.3");
  REQUIRE(f.out.records.size() == 1);
  const auto& r = f.out.records[0];
  CHECK(r.body == "An event");
  CHECK(r.source_name == "evntslog");
  CHECK(r.severity == 10);  // notice → INFO2
  CHECK(r.time_unix_nano == 1065910455003000000);
  CHECK(r.observed_unix_nano > 0);
  CHECK(r.Attr("syslog.facility") == "local4");
  CHECK(r.Attr("syslog.severity") == "notice");
  CHECK(r.Attr("syslog.hostname") == "mymachine");
  CHECK(r.Attr("syslog.appname") == "evntslog");
  CHECK(r.Attr("syslog.procid") == "1234");
  CHECK(r.Attr("syslog.msgid") == "ID47");
  CHECK(r.Attr("syslog.sd.exampleSDID@32473.iut") == "3");
  CHECK(r.Attr("syslog.sd.exampleSDID@32473.eventSource") == "App");
  CHECK(r.Attr("syslog.sd.flag@1") == "");
  CHECK(r.Attr("syslog.peer") == "10.1.2.3");
  CHECK(r.Attr("syslog.parse_error") == "<absent>");
  CHECK(r.has_id);
  CHECK(SequenceIn(r.delta) == 1);
  CHECK(f.counters.received_udp == 1);
  CHECK(f.counters.parse_failures == 0);
}

TEST_CASE("record maker: source names, fallbacks and a malformed message") {
  Fixture f;
  f.maker.ShipDatagram("<13>Jun  5 10:00:00 web-01 sshd[42]: Accepted", "");
  f.maker.ShipDatagram("<13>Jun  5 10:00:00 web-01 sshd[43]: Accepted", "");
  f.maker.ShipDatagram("<13>1 - router7 - - - - link up", "");
  f.maker.ShipDatagram("<13>1 - - - - - - nothing named", "");
  f.maker.ShipDatagram("garbage \xff without PRI", "192.0.2.1");
  f.maker.ShipDatagram("<11>1 2024-13-99T00:00:00Z h a - - - bad time", "");
  REQUIRE(f.out.records.size() == 6);
  const auto& r = f.out.records;
  CHECK(r[0].source_name == "sshd");
  CHECK(r[0].source_id == r[1].source_id);  // one row in the batch's sources table
  CHECK(r[2].source_name == "router7");
  CHECK(r[3].source_name == "syslog");
  CHECK(r[4].source_name == "syslog");
  CHECK(r[4].body == "garbage \xff without PRI");  // raw, as received
  CHECK(r[4].Attr("syslog.parse_error") == "no valid PRI");
  CHECK(r[4].Attr("syslog.peer") == "192.0.2.1");
  CHECK(r[4].severity == 0);
  CHECK(r[4].Attr("syslog.facility") == "<absent>");
  CHECK(r[5].body == "<11>1 2024-13-99T00:00:00Z h a - - - bad time");
  CHECK(r[5].Attr("syslog.parse_error") == "RFC 5424 TIMESTAMP invalid");
  CHECK(r[5].severity == 17);  // the PRI was valid: err
  CHECK(r[5].Attr("syslog.severity") == "err");
  CHECK(f.counters.parse_failures == 2);
  std::set<std::string> ids;
  for (const auto& rec : r) ids.insert(rec.id.ToUuid());
  CHECK(ids.size() == r.size());
}

TEST_CASE("record maker: a long message ships as parts that keep its header") {
  Fixture f(480);
  const std::string body(1000, 'b');
  f.maker.ShipDatagram("<14>1 2024-06-15T12:00:00Z host app 7 - [x@1 k=\"v\"] " + body + "\n", "");
  REQUIRE(f.out.records.size() == 3);
  const auto& r = f.out.records;
  CHECK(r[0].flags == kPartial);
  CHECK(r[1].flags == kPartial);
  CHECK(r[2].flags == (kPartial | kLast));
  for (const auto& p : r) {
    CHECK(p.source_name == "app");
    CHECK(p.severity == 9);
    CHECK(p.Attr("syslog.sd.x@1.k") == "v");
    CHECK(p.time_unix_nano == r[0].time_unix_nano);
  }
  CHECK(r[0].body + r[1].body + r[2].body == body);  // the trailing LF is no content
  CHECK(f.counters.split_messages == 1);
  CHECK(f.counters.received_udp == 1);
  CHECK(SequenceIn(r[2].delta) == 3);  // every part has an id (and a sequence) of its own
}

TEST_CASE("record maker: structured data values and counts are bounded") {
  Fixture f(1 << 20);
  std::string raw = "<14>1 - h a - - [x@1 big=\"" + std::string(kMaxSdValueBytes + 10, 'v') + "\"";
  for (int i = 0; i < 300; ++i) raw += " p" + std::to_string(i) + "=\"1\"";
  raw += "] m";
  f.maker.ShipDatagram(raw, "");
  REQUIRE(f.out.records.size() == 1);
  const auto& r = f.out.records[0];
  CHECK(r.Attr("syslog.sd.x@1.big").size() == kMaxSdValueBytes);
  CHECK(r.Attr("logship.truncated") == "true");
  CHECK(r.attribute_count < 80);  // far below the collector's 256 per record
  CHECK(r.body == "m");
}

TEST_CASE("record maker: broken frames and continuation across TCP frames") {
  Fixture f;
  RecordMaker::Stream stream;
  f.maker.Ship(Frame{"<13>1 - h app - - - first ", kPartial, nullptr}, "127.0.0.1", Transport::kTls, stream);
  f.maker.Ship(Frame{"middle ", kPartial, nullptr}, "127.0.0.1", Transport::kTls, stream);
  f.maker.Ship(Frame{"end\r", kPartial | kLast, nullptr}, "127.0.0.1", Transport::kTls, stream);
  f.maker.Ship(Frame{"999999 junk", 0, "octet count out of range"}, "127.0.0.1", Transport::kTls, stream);
  REQUIRE(f.out.records.size() == 4);
  CHECK(f.out.records[0].body == "first ");
  CHECK(f.out.records[1].body == "middle ");
  CHECK(f.out.records[1].source_name == "app");
  CHECK(f.out.records[2].body == "end");
  CHECK(f.out.records[3].body == "999999 junk");
  CHECK(f.out.records[3].Attr("syslog.parse_error") == "octet count out of range");
  CHECK(f.counters.received_tls == 2);
}

TEST_CASE("syslog identity: ids are stable for a nonce and sequence, distinct across nonces") {
  SyslogIdentity a("agent", "syslog:s", 0, Nonce{1});
  SyslogIdentity b("agent", "syslog:s", 0, Nonce{1});
  SyslogIdentity c("agent", "syslog:s", 0, Nonce{2});  // another run, the sequence rewound
  RecordId ia, ib, ic;
  CHECK(a.Next(&ia) == 1);
  CHECK(b.Next(&ib) == 1);
  CHECK(c.Next(&ic) == 1);
  CHECK(ia == ib);
  CHECK_FALSE(ia == ic);
  RecordId next;
  CHECK(a.Next(&next) == 2);
  CHECK_FALSE(next == ia);
  SyslogIdentity resumed("agent", "syslog:s", 41, Nonce{1});
  CHECK(resumed.Next(&next) == 42);
  bool strong = false;
  const Nonce n1 = SyslogIdentity::RandomNonce(&strong);
  const Nonce n2 = SyslogIdentity::RandomNonce(&strong);
  CHECK(n1 != n2);
}

TEST_CASE("syslog state: sequences merge in order, encode, and forget removed sources") {
  SyslogState state;
  SyslogPositions p("syslog:a"), q("syslog:b");
  std::string delta;
  p.MovedTo(5);
  p.TakeDelta(&delta);
  q.MovedTo(9);
  q.TakeDelta(&delta);
  p.MovedTo(6);
  p.TakeDelta(&delta);  // concatenated deltas merge like one (protobuf)
  REQUIRE(state.Apply(delta));
  CHECK(state.Sequence("syslog:a") == 6);
  CHECK(state.Sequence("syslog:b") == 9);
  std::string none;
  p.TakeDelta(&none);
  CHECK(none.empty());  // nothing moved since
  SyslogState copy;
  REQUIRE(copy.Apply(state.Encode()));
  CHECK(copy.Sequence("syslog:b") == 9);
  copy.SetActiveSources({"syslog:a", "file:x"});
  copy.Prune(0);
  CHECK(copy.Sequence("syslog:a") == 6);
  CHECK(copy.Sequence("syslog:b") == 0);
  CHECK_FALSE(state.Apply("\xff\xff\xff"));
}

}  // namespace
}  // namespace logship::agent::syslog
