#include "agent/shipper/frame_splitter.h"

#include <doctest/doctest.h>

#include <random>

#include "collector/server/record_identity.h"
#include "common/zstd_codec.h"

namespace logship::agent {
namespace {

// A compact batch as the agent builds it: two files (ids derived from offsets), a journal
// source (explicit ids), runs of equal observed times, incompressible bodies.
logship::v1::Batch CompactBatch(int records, size_t body_bytes) {
  logship::v1::Batch b;
  b.set_agent_id("web-01");
  b.set_host("web-01.example");
  for (int s = 0; s < 2; ++s) {
    auto* src = b.add_sources();
    src->set_name("/var/log/f" + std::to_string(s) + ".log");
    src->mutable_file()->set_device(1);
    src->mutable_file()->set_inode(100 + static_cast<uint64_t>(s));
    src->mutable_file()->set_fingerprint(7);
    if (s == 1) src->mutable_file()->set_generation(3);
  }
  b.add_sources()->set_name("nginx.service");
  std::mt19937_64 rng(42);
  uint64_t observed = 0;
  for (int i = 0; i < records; ++i) {
    auto* r = b.add_records();
    std::string body(body_bytes, '\0');
    for (auto& c : body) c = static_cast<char>('a' + rng() % 26);
    r->set_body(body);
    r->set_source_index(static_cast<uint32_t>(i % 3));
    if (i % 3 == 2) r->set_id(std::string(16, static_cast<char>(i)));
    else if (i % 7 == 0) r->set_offset_delta(5);  // a gap (a skipped line part)
    const uint64_t t = 1700000000000000000ULL + static_cast<uint64_t>(i / 4);
    if (t != observed) r->set_observed_time_unix_nano(t);
    observed = t;
  }
  return b;
}

spool::SpooledFrame Spooled(const logship::v1::Batch& b) {
  spool::SpooledFrame f;
  f.sequence = 9;
  const std::string raw = b.SerializeAsString();
  ZstdCompressor z(1);
  REQUIRE(z.Compress(raw, &f.payload).ok());
  f.uncompressed_bytes = static_cast<uint32_t>(raw.size());
  f.record_count = static_cast<uint32_t>(b.records_size());
  f.codec = 2;
  return f;
}

// What the collector makes of a batch: (id, observed, body) per record.
std::vector<std::tuple<std::string, uint64_t, std::string>> Resolved(logship::v1::Batch b) {
  REQUIRE(collector::ResolveRecordIdentity(&b).ok());
  std::vector<std::tuple<std::string, uint64_t, std::string>> out;
  for (const auto& r : b.records()) out.emplace_back(r.id(), r.observed_time_unix_nano(), r.body());
  return out;
}

TEST_CASE("frame splitter: a frame within the limits fits; unknown limits fit anything") {
  const auto f = Spooled(CompactBatch(10, 20));
  CHECK(FrameSplitter::Fits(f, WireLimits{}));
  CHECK(FrameSplitter::Fits(f, WireLimits{1 << 20, 1 << 20, 10}));
  CHECK_FALSE(FrameSplitter::Fits(f, WireLimits{1 << 20, 1 << 20, 9}));
  CHECK_FALSE(FrameSplitter::Fits(f, WireLimits{f.payload.size(), 0, 0}));  // no room for the frame's fields
  CHECK_FALSE(FrameSplitter::Fits(f, WireLimits{0, f.uncompressed_bytes - 1, 0}));
}

TEST_CASE("frame splitter: parts fit the limits and the collector derives the very same records") {
  const auto whole = CompactBatch(3000, 300);  // ~900 KiB of incompressible bodies
  const auto f = Spooled(whole);
  const WireLimits limits{64 << 10, 200 << 10, 500};
  REQUIRE_FALSE(FrameSplitter::Fits(f, limits));
  FrameSplitter splitter(1);
  auto split = splitter.Split(f, limits);
  REQUIRE(split.ok());
  CHECK(split->unfit.empty());
  REQUIRE(split->parts.size() > 10);
  std::vector<std::tuple<std::string, uint64_t, std::string>> from_parts;
  ZstdDecompressor d;
  for (const auto& p : split->parts) {
    CHECK(p.payload.size() <= (64u << 10) - 1024);
    CHECK(p.uncompressed_bytes <= 200u << 10);
    CHECK(p.record_count <= 500u);
    std::string raw;
    REQUIRE(d.Decompress(p.payload, p.uncompressed_bytes, p.uncompressed_bytes, &raw).ok());
    logship::v1::Batch part;
    REQUIRE(part.ParseFromString(raw));
    CHECK(part.records_size() == static_cast<int>(p.record_count));
    for (auto& rec : Resolved(part)) from_parts.push_back(std::move(rec));
  }
  CHECK(from_parts == Resolved(whole));
}

TEST_CASE("frame splitter: a record that fits no frame is handed back alone; the rest still go") {
  auto b = CompactBatch(6, 50);
  b.mutable_records(3)->set_body(std::string(300 << 10, 'x'));  // compresses, but not under the count limit
  std::mt19937_64 rng(1);
  std::string noise(300 << 10, '\0');
  for (auto& c : noise) c = static_cast<char>(rng());
  b.mutable_records(4)->set_body(noise);  // incompressible: over max_frame_bytes alone
  const auto f = Spooled(b);
  FrameSplitter splitter(1);
  auto split = splitter.Split(f, WireLimits{100 << 10, 0, 0});
  REQUIRE(split.ok());
  REQUIRE(split->unfit.size() == 1u);
  logship::v1::Batch lone;
  REQUIRE(lone.ParseFromString(split->unfit[0]));
  REQUIRE(lone.records_size() == 1);
  CHECK(lone.records(0).body() == noise);
  uint32_t sent = 0;
  for (const auto& p : split->parts) sent += p.record_count;
  CHECK(sent == 5u);
}

TEST_CASE("frame splitter: a payload that is not a zstd batch is Corruption, never a crash") {
  auto f = Spooled(CompactBatch(5, 10));
  f.payload = std::string(f.payload.size(), '\xff');
  FrameSplitter splitter(1);
  auto split = splitter.Split(f, WireLimits{256, 0, 0});
  CHECK_FALSE(split.ok());
}

}  // namespace
}  // namespace logship::agent
