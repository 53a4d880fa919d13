#include "collector/server/frame_decoder.h"

#include <doctest/doctest.h>
#include <malloc.h>

#include <memory>
#include <vector>

#include "common/record_id.h"
#include "common/zstd_codec.h"
#include "tests/unit/testing/alloc_probe.h"

namespace logship::collector {
namespace {

using logship::v1::Batch;
using logship::v1::BatchFrame;

Batch SampleBatch(int records = 3) {
  Batch b;
  b.set_agent_id("web-01");
  b.set_host("web-01.example");
  b.add_sources()->set_name("/var/log/a.log");
  b.add_sources()->set_name("/var/log/b.log");
  for (int i = 0; i < records; ++i) {
    auto* r = b.add_records();
    const RecordId id = FileRecordId("web-01", FilePosition{1, 2, 3, static_cast<uint64_t>(i) * 10});
    r->set_id(std::string(id.AsBytes()));
    r->set_body("line " + std::to_string(i));
    r->set_source_index(static_cast<uint32_t>(i % 2));
    r->set_observed_time_unix_nano(1700000000000000000ULL + static_cast<uint64_t>(i));
  }
  return b;
}

BatchFrame ZstdFrame(const Batch& b, const std::string& agent = "web-01") {
  const std::string raw = b.SerializeAsString();
  ZstdCompressor c(1);
  BatchFrame f;
  REQUIRE(c.Compress(raw, f.mutable_payload()).ok());
  f.set_agent_id(agent);
  f.set_sequence(7);
  f.set_codec(logship::v1::CODEC_ZSTD);
  f.set_record_count(static_cast<uint32_t>(b.records_size()));
  f.set_uncompressed_bytes(raw.size());
  return f;
}

Status DecodeWith(const Limits& limits, const BatchFrame& f, Batch* out = nullptr) {
  FrameDecoder d(limits);
  Batch scratch;
  return d.Decode(f, out ? out : &scratch);
}
Status Decode(const BatchFrame& f, Batch* out = nullptr) { return DecodeWith(Limits{}, f, out); }

bool IsRejection(const Status& s) {
  return s.code() == Status::Code::kInvalidArgument || s.code() == Status::Code::kResourceExhausted;
}

TEST_CASE("frame decoder: a valid zstd frame decodes to the batch") {
  const Batch in = SampleBatch();
  Batch out;
  const Status s = Decode(ZstdFrame(in), &out);
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  CHECK(out.SerializeAsString() == in.SerializeAsString());
}

TEST_CASE("frame decoder: a valid uncompressed frame decodes to the batch") {
  const Batch in = SampleBatch();
  BatchFrame f = ZstdFrame(in);
  f.set_codec(logship::v1::CODEC_NONE);
  f.set_payload(in.SerializeAsString());
  Batch out;
  REQUIRE(Decode(f, &out).ok());
  CHECK(out.records_size() == 3);
  f.set_uncompressed_bytes(f.payload().size() + 1);
  CHECK(Decode(f).code() == Status::Code::kInvalidArgument);
}

TEST_CASE("frame decoder: one decoder handles many frames in a row") {
  FrameDecoder d(Limits{});
  Batch out;
  for (int n : {5, 1, 50, 2}) {
    const Batch in = SampleBatch(n);
    REQUIRE(d.Decode(ZstdFrame(in), &out).ok());
    CHECK(out.records_size() == n);
    CHECK(out.SerializeAsString() == in.SerializeAsString());
  }
  // A bad frame in between does not poison the decoder.
  BatchFrame bad = ZstdFrame(SampleBatch());
  bad.set_payload("garbage");
  CHECK_FALSE(d.Decode(bad, &out).ok());
  REQUIRE(d.Decode(ZstdFrame(SampleBatch(4)), &out).ok());
  CHECK(out.records_size() == 4);
}

TEST_CASE("frame decoder: an unknown or unspecified codec is rejected") {
  BatchFrame f = ZstdFrame(SampleBatch());
  f.set_codec(static_cast<logship::v1::Codec>(9));
  CHECK(Decode(f).code() == Status::Code::kInvalidArgument);
  f.set_codec(logship::v1::CODEC_UNSPECIFIED);
  CHECK(Decode(f).code() == Status::Code::kInvalidArgument);
}

TEST_CASE("frame decoder: a frame without agent_id or sequence is rejected") {
  CHECK(Decode(ZstdFrame(SampleBatch(), "")).code() == Status::Code::kInvalidArgument);
  BatchFrame f = ZstdFrame(SampleBatch());
  f.set_sequence(0);
  CHECK(Decode(f).code() == Status::Code::kInvalidArgument);
}

TEST_CASE("frame decoder: a batch spooled under another agent_id (the host was renamed) is taken") {
  Batch out;
  REQUIRE(Decode(ZstdFrame(SampleBatch(), "web-02"), &out).ok());
  CHECK(out.agent_id() == "web-01");  // ids stay those of the name the lines were read under
  Batch no_agent = SampleBatch();
  no_agent.clear_agent_id();
  CHECK(Decode(ZstdFrame(no_agent)).code() == Status::Code::kInvalidArgument);
}

// A batch in the compact form: file records without ids (derived from the file identity).
Batch CompactBatch(const std::string& agent) {
  Batch b;
  b.set_agent_id(agent);
  auto* src = b.add_sources();
  src->set_name("/var/log/a.log");
  src->mutable_file()->set_device(1);
  src->mutable_file()->set_inode(2);
  src->mutable_file()->set_fingerprint(3);
  for (int i = 0; i < 3; ++i) {
    auto* r = b.add_records();
    r->set_body("line");  // 5 bytes a line: offsets 0, 5, 10
    r->set_observed_time_unix_nano(1);
  }
  return b;
}

TEST_CASE("frame decoder: with an authenticated sender, ids are bound to it") {
  FrameDecoder d(Limits{});
  Batch plain, bound, spoofed;
  REQUIRE(d.Decode(ZstdFrame(CompactBatch("web-01"), "web-01"), &plain).ok());
  REQUIRE(d.Decode(ZstdFrame(CompactBatch("web-01"), "web-01"), &bound, nullptr, "web-01").ok());
  // File ids come from the principal: the honest agent's ids do not change …
  CHECK(plain.records(1).id() == bound.records(1).id());
  CHECK(plain.records(1).id() ==
        std::string(FileRecordId("web-01", FilePosition{1, 2, 3, 5}).AsBytes()));
  // … and a sender claiming another agent's name cannot produce that agent's ids.
  REQUIRE(d.Decode(ZstdFrame(CompactBatch("web-01"), "mallory"), &spoofed, nullptr, "mallory").ok());
  CHECK(spoofed.records(1).id() != plain.records(1).id());
  // Ids that travel on the wire are bound too.
  Batch explicit_ids;
  REQUIRE(d.Decode(ZstdFrame(SampleBatch(), "mallory"), &explicit_ids, nullptr, "mallory").ok());
  CHECK(explicit_ids.records(0).id() != SampleBatch().records(0).id());
}

TEST_CASE("frame decoder: a record with an over-limit attribute is taken out, its neighbours stay") {
  Batch b = SampleBatch(5);
  auto* kv = b.mutable_records(2)->add_attributes();
  kv->set_key("huge");
  kv->set_value(std::string(100 << 10, 'x'));
  FrameDecoder d(Limits{});
  Batch out;
  std::vector<RefusedRecord> refused;
  REQUIRE(d.Decode(ZstdFrame(b), &out, &refused).ok());
  REQUIRE(out.records_size() == 4);
  CHECK(out.records(2).body() == "line 3");
  REQUIRE(refused.size() == 1u);
  CHECK(refused[0].record.body() == "line 2");
  CHECK(refused[0].record.id().size() == 16u);
  CHECK(refused[0].reason.find("max_attribute_bytes") != std::string::npos);
  // Without a place for refused records the frame is refused, as before.
  CHECK(d.Decode(ZstdFrame(b), &out).code() == Status::Code::kResourceExhausted);
}

TEST_CASE("frame decoder: a record count that differs from the batch is rejected") {
  BatchFrame f = ZstdFrame(SampleBatch(3));
  f.set_record_count(4);
  CHECK(Decode(f).code() == Status::Code::kInvalidArgument);
  f.set_record_count(2);
  CHECK(Decode(f).code() == Status::Code::kInvalidArgument);
}

TEST_CASE("frame decoder: a record id that is not 16 bytes is rejected") {
  for (size_t len : {size_t{0}, size_t{15}, size_t{17}}) {
    Batch b = SampleBatch();
    b.mutable_records(1)->set_id(std::string(len, 'i'));
    CHECK_MESSAGE(Decode(ZstdFrame(b)).code() == Status::Code::kInvalidArgument, "id length ", len);
  }
}

TEST_CASE("frame decoder: a source_index out of range is rejected") {
  Batch b = SampleBatch();
  b.mutable_records(2)->set_source_index(2);  // two sources: 0 and 1
  CHECK(Decode(ZstdFrame(b)).code() == Status::Code::kInvalidArgument);
  Batch none = SampleBatch(1);
  none.clear_sources();
  none.mutable_records(0)->set_source_index(0);
  CHECK(Decode(ZstdFrame(none)).code() == Status::Code::kInvalidArgument);
}

TEST_CASE("frame decoder: limits are enforced") {
  const Batch in = SampleBatch(10);
  const BatchFrame f = ZstdFrame(in);
  SUBCASE("declared uncompressed size over the limit") {
    Limits l;
    l.max_uncompressed_bytes = f.uncompressed_bytes() - 1;
    CHECK(DecodeWith(l, f).code() == Status::Code::kResourceExhausted);
    BatchFrame huge = f;
    huge.set_uncompressed_bytes(1ull << 40);
    CHECK(Decode(huge).code() == Status::Code::kResourceExhausted);
  }
  SUBCASE("payload over max_frame_bytes") {
    Limits l;
    l.max_frame_bytes = f.payload().size() - 1;
    CHECK(DecodeWith(l, f).code() == Status::Code::kResourceExhausted);
    l.max_frame_bytes = f.payload().size();
    CHECK(DecodeWith(l, f).ok());
  }
  SUBCASE("record count over max_records") {
    Limits l;
    l.max_records = 9;
    CHECK(DecodeWith(l, f).code() == Status::Code::kResourceExhausted);
  }
}

TEST_CASE("frame decoder: a decompression bomb is rejected without allocating its size") {
  // 50 MiB of zeros compresses to a few KiB; the frame claims it is small.
  const std::string zeros(50u << 20, '\0');
  BatchFrame f = ZstdFrame(SampleBatch());
  ZstdCompressor c(1);
  REQUIRE(c.Compress(zeros, f.mutable_payload()).ok());
  f.set_uncompressed_bytes(1000);
  FrameDecoder d(Limits{});
  Batch out;
  Status s;
  size_t largest = 0;
  {
    testing::AllocProbe probe;
    s = d.Decode(f, &out);
    largest = probe.largest();
  }
  CHECK(IsRejection(s));
  CHECK_MESSAGE(largest < (1u << 20), "largest allocation: ", largest);
  // Declaring its true size against a 16 MiB limit: refused by the declared size alone.
  f.set_uncompressed_bytes(zeros.size());
  Limits l;
  l.max_uncompressed_bytes = 16u << 20;
  CHECK(DecodeWith(l, f).code() == Status::Code::kResourceExhausted);
}

// Regression (catalogue "protobuf with a huge repeated field"): 60 MB of 2-byte empty records
// compress to 6 KiB; parsing them made 30 million LogRecord objects (3 GiB) before the record
// count was compared. The wire bytes are now counted first; these messages come from that scan.
BatchFrame RawZstdFrame(const std::string& raw, uint32_t record_count) {
  ZstdCompressor c(1);
  BatchFrame f;
  REQUIRE(c.Compress(raw, f.mutable_payload()).ok());
  f.set_agent_id("web-01");
  f.set_sequence(7);
  f.set_codec(logship::v1::CODEC_ZSTD);
  f.set_record_count(record_count);
  f.set_uncompressed_bytes(raw.size());
  return f;
}

TEST_CASE("frame decoder: millions of empty records are refused before parsing") {
  std::string raw;
  for (int i = 0; i < 3'000'000; ++i) raw.append("\x22\x00", 2);  // Batch.records = {}
  const Status s = Decode(RawZstdFrame(raw, 1));
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK_MESSAGE(s.message().find("more records than the 1 the frame declared") != std::string::npos, s.message());
}

TEST_CASE("frame decoder: a record with millions of empty attributes is refused before parsing") {
  std::string record = std::string("\x0a\x10", 2) + std::string(16, 'r');
  for (int i = 0; i < 2'000'000; ++i) record.append("\x3a\x00", 2);  // LogRecord.attributes = {}
  std::string raw = std::string("\x0a\x06web-01\x1a\x03\x0a\x01s\x22", 14);
  for (uint64_t n = record.size();; n >>= 7) {  // varint length of the record
    raw.push_back(static_cast<char>((n & 0x7f) | (n > 0x7f ? 0x80 : 0)));
    if (n <= 0x7f) break;
  }
  raw += record;
  const Status s = Decode(RawZstdFrame(raw, 1));
  CHECK(s.code() == Status::Code::kResourceExhausted);
  CHECK_MESSAGE(s.message().find("a record has more than max_attributes (256) attributes") != std::string::npos,
                s.message());
}

TEST_CASE("frame decoder: the attribute count is exact at max_attributes, however short the record") {
  // Records short enough to hold at most max_attributes are not walked before parsing: the
  // shortest record over the limit (5 empty attributes, 10 bytes) must still be refused.
  const auto batch_of = [](int attributes, const std::string& extra) {
    std::string record = extra;
    for (int i = 0; i < attributes; ++i) record.append("\x3a\x00", 2);  // LogRecord.attributes = {}
    std::string raw = std::string("\x0a\x06web-01\x1a\x03\x0a\x01s\x22", 14);
    raw.push_back(static_cast<char>(record.size()));
    return RawZstdFrame(raw + record, 1);
  };
  Limits l;
  l.max_attributes = 4;
  const Status over = DecodeWith(l, batch_of(5, ""));
  CHECK(over.code() == Status::Code::kResourceExhausted);
  CHECK_MESSAGE(over.message().find("a record has more than max_attributes (4) attributes") != std::string::npos,
                over.message());
  const std::string id = std::string("\x0a\x10", 2) + std::string(16, 'r');
  CHECK(DecodeWith(l, batch_of(4, id)).ok());
  // A short record whose fields do not parse is refused by the parser, with the same reason.
  const Status bad = DecodeWith(l, batch_of(1, std::string("\x0a\x7f", 2)));
  CHECK(bad.code() == Status::Code::kInvalidArgument);
  CHECK_MESSAGE(bad.message() == "payload is not a valid logship.v1.Batch", bad.message());
}

TEST_CASE("frame decoder: attributes are bounded per batch, not only per record") {
  Batch b = SampleBatch(30);
  for (auto& r : *b.mutable_records()) {
    for (int i = 0; i < 100; ++i) {
      auto* kv = r.add_attributes();
      kv->set_key("k" + std::to_string(i));
      kv->set_value("v");
    }
  }
  Limits l;
  l.max_uncompressed_bytes = 64u << 10;  // 3,000 attributes x 64 bytes > 2 x 64 KiB
  const Status s = DecodeWith(l, ZstdFrame(b));
  CHECK(s.code() == Status::Code::kResourceExhausted);
  CHECK_MESSAGE(s.message().find("3000 attributes") != std::string::npos, s.message());
  CHECK(Decode(ZstdFrame(b)).ok());  // the default limits take it
}

TEST_CASE("frame decoder: garbage payloads are rejected, never a crash") {
  BatchFrame f = ZstdFrame(SampleBatch());
  for (const std::string& junk : {std::string(), std::string("not zstd"), std::string(4096, '\xff'),
                                  f.payload().substr(0, f.payload().size() / 2)}) {
    BatchFrame bad = f;
    bad.set_payload(junk);
    CHECK(IsRejection(Decode(bad)));
  }
  // Valid zstd around bytes that are not a Batch.
  BatchFrame not_batch = f;
  const std::string junk(64, '\xff');
  ZstdCompressor c(1);
  REQUIRE(c.Compress(junk, not_batch.mutable_payload()).ok());
  not_batch.set_uncompressed_bytes(junk.size());
  CHECK(Decode(not_batch).code() == Status::Code::kInvalidArgument);
  // Uncompressed garbage.
  BatchFrame raw = f;
  raw.set_codec(logship::v1::CODEC_NONE);
  raw.set_payload(junk);
  raw.set_uncompressed_bytes(junk.size());
  CHECK(Decode(raw).code() == Status::Code::kInvalidArgument);
  // Every single-byte corruption of a valid payload: rejected or decoded, never a crash.
  for (size_t i = 0; i < f.payload().size(); ++i) {
    BatchFrame flipped = f;
    (*flipped.mutable_payload())[i] = static_cast<char>(f.payload()[i] ^ 0x21);
    Batch out;
    const Status s = Decode(flipped, &out);
    CHECK((s.ok() || IsRejection(s)));
  }
}


#if !defined(__SANITIZE_ADDRESS__)  // ASan brings its own allocator: mallinfo2 says nothing
TEST_CASE("frame decoder: a stream's decoder holds no zstd context of its own") {
  // A collector keeps a decoder per stream, thousands of them; a zstd context is 94 KiB.
  const BatchFrame f = ZstdFrame(SampleBatch());
  Batch first;
  REQUIRE(FrameDecoder(Limits{}).Decode(f, &first).ok());  // this thread's context, made once
  const auto held = [] {
    const struct mallinfo2 m = mallinfo2();
    return static_cast<long long>(m.uordblks + m.hblkhd);
  };
  std::vector<std::unique_ptr<FrameDecoder>> decoders;
  const long long before = held();
  for (int i = 0; i < 100; ++i) {
    decoders.push_back(std::make_unique<FrameDecoder>(Limits{}));
    Batch out;
    REQUIRE(decoders.back()->Decode(f, &out).ok());
  }
  CHECK(held() - before < 100 * 8 * 1024);  // each: its limits, not a context
}
#endif
}  // namespace
}  // namespace logship::collector
