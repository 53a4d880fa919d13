#include "agent/flow/spool_writer.h"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "common/zstd_codec.h"
#include "logship/v1/record.pb.h"
#include "tests/unit/testing/temp_dir.h"

namespace logship::agent {
namespace {

using testing::TempDir;
using namespace std::chrono_literals;

std::unique_ptr<spool::Spool> OpenSpool(const TempDir& dir, uint64_t max_bytes,
                                        spool::FsyncPolicy fsync = spool::FsyncPolicy::kNever) {
  spool::SpoolOptions o;
  o.dir = dir.File("spool");
  o.max_bytes = max_bytes;
  o.fsync = fsync;
  auto r = spool::Spool::Open(o);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  return std::move(r).value();
}

FilledBatch MakeBatch(int n, const std::string& body) {
  logship::v1::Batch b;
  b.set_agent_id("agent-1");
  for (int i = 0; i < n; ++i) b.add_records()->set_body(body + "-" + std::to_string(i));
  FilledBatch f;
  f.batch = SerializedBatch::Copy(b.SerializeAsString());
  f.record_count = static_cast<uint32_t>(n);
  (*f.delta.mutable_states())["test"] = "/var/log/" + body;  // opaque to the writer
  return f;
}

logship::v1::Batch Decode(const spool::SpooledFrame& frame) {
  ZstdDecompressor d;
  std::string raw;
  REQUIRE(d.Decompress(frame.payload, frame.uncompressed_bytes, frame.uncompressed_bytes, &raw).ok());
  logship::v1::Batch b;
  REQUIRE(b.ParseFromString(raw));
  return b;
}

// Polls `cond` for up to 5 s.
template <typename F>
bool Eventually(F cond) {
  for (int i = 0; i < 500; ++i) {
    if (cond()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return cond();
}

TEST_CASE("spool writer: batches reach the spool encoded, in the order submitted") {
  TempDir dir;
  auto spool = OpenSpool(dir, 1ull << 30);
  std::atomic<int> notified{0};
  SpoolWriter writer(*spool, SpoolWriterOptions{}, [&] { ++notified; });
  for (int i = 1; i <= 20; ++i) writer.Submit(MakeBatch(i, "b" + std::to_string(i)));
  REQUIRE(writer.WaitIdle(5s));
  CHECK(writer.Pending() == 0u);
  CHECK(notified.load() >= 1);

  const auto appended = writer.TakeAppended();
  REQUIRE(appended.size() == 20u);
  for (size_t i = 0; i < appended.size(); ++i) {
    const int n = static_cast<int>(i) + 1;
    CHECK(appended[i].sequence == i + 1);
    CHECK(appended[i].record_count == static_cast<uint32_t>(n));
    REQUIRE(appended[i].delta.states().count("test") == 1);
    CHECK(appended[i].delta.states().at("test") == "/var/log/b" + std::to_string(n));

    auto frame = spool->Read(appended[i].sequence);
    REQUIRE(frame.ok());
    CHECK(frame->record_count == static_cast<uint32_t>(n));
    const auto batch = Decode(*frame);
    REQUIRE(batch.records_size() == n);
    CHECK(batch.records(n - 1).body() == "b" + std::to_string(n) + "-" + std::to_string(n - 1));
  }
  CHECK(writer.TakeAppended().empty());
}

TEST_CASE("spool writer: Uncompressed counts the batches (and bytes) not compressed yet, the memory they hold") {
  TempDir dir;
  auto spool = OpenSpool(dir, 1);  // the second frame is refused: the writer retries it, the third waits
  SpoolWriter writer(*spool, SpoolWriterOptions{}, [] {});
  FilledBatch third = MakeBatch(40, "third");
  const uint64_t third_bytes = third.batch.size;
  writer.Submit(MakeBatch(3, "first"));
  writer.Submit(MakeBatch(4, "second"));
  REQUIRE(Eventually([&] { return writer.refused(); }));
  writer.Submit(std::move(third));
  CHECK(writer.Pending() == 2u);
  CHECK(writer.Uncompressed() == 1u);  // the refused second is compressed already
  CHECK(writer.UncompressedBytes() == third_bytes);
  spool->Ack(1);  // the second goes in; the third is compressed, then refused in turn
  REQUIRE(Eventually([&] { return writer.Uncompressed() == 0; }));
  CHECK(writer.UncompressedBytes() == 0u);
  REQUIRE(Eventually([&] { return writer.refused(); }));
  CHECK(Eventually([&] { return writer.Pending() == 1; }));
  spool->Ack(2);
  REQUIRE(Eventually([&] { return writer.Pending() == 0; }));
}

TEST_CASE("spool writer: batches submitted while a round is being compressed join it: one fsync, one report") {
  // A large batch takes the writer tens of milliseconds to compress; three small ones come
  // meanwhile. Under load this is every round: without joining, each batch pays an fsync.
  TempDir dir;
  auto spool = OpenSpool(dir, 1ull << 30);
  std::atomic<int> rounds{0};
  SpoolWriter writer(*spool, SpoolWriterOptions{}, [&] { ++rounds; });
  logship::v1::Batch big;
  uint64_t x = 88172645463325252ull;  // xorshift: text zstd must work at (not one long run)
  for (int i = 0; i < 4000; ++i) {
    std::string body(8000, ' ');
    for (char& c : body) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      c = static_cast<char>('a' + x % 26);
    }
    big.add_records()->set_body(std::move(body));
  }
  FilledBatch first;
  first.batch = SerializedBatch::Copy(big.SerializeAsString());  // 32 MB
  first.record_count = 4000;
  writer.Submit(std::move(first));
  std::this_thread::sleep_for(5ms);  // the writer has taken it and is compressing
  for (int i = 1; i <= 3; ++i) writer.Submit(MakeBatch(i, "small"));
  REQUIRE(writer.WaitIdle(30s));
  CHECK(writer.TakeAppended().size() == 4u);
  CHECK(rounds.load() == 1);
}

TEST_CASE("spool writer: a refusing spool holds the batch, nothing is lost, and it goes in once there is room") {
  TempDir dir;
  // One frame always fits (the spool never refuses when nothing is unacked); a second does not.
  auto spool = OpenSpool(dir, 1);
  SpoolWriter writer(*spool, SpoolWriterOptions{}, [] {});
  writer.Submit(MakeBatch(3, "first"));
  writer.Submit(MakeBatch(4, "second"));
  CHECK_FALSE(writer.WaitIdle(5s));  // returns on refusal, long before the timeout
  CHECK(writer.refused());
  CHECK(writer.Pending() == 1u);
  REQUIRE(writer.TakeAppended().size() == 1u);
  std::this_thread::sleep_for(250ms);  // a few retries, all refused
  CHECK(spool->NextSequence() == 2u);

  spool->Ack(1);  // room again
  REQUIRE(Eventually([&] { return writer.Pending() == 0; }));
  CHECK_FALSE(writer.refused());
  const auto appended = writer.TakeAppended();
  REQUIRE(appended.size() == 1u);
  CHECK(appended[0].sequence == 2u);
  CHECK(Decode(*spool->Read(2)).records_size() == 4);
}

TEST_CASE("spool writer: Stop returns promptly while the spool refuses, leaving the batch out of the spool") {
  TempDir dir;
  auto spool = OpenSpool(dir, 1);
  SpoolWriter writer(*spool, SpoolWriterOptions{}, [] {});
  writer.Submit(MakeBatch(1, "fits"));
  writer.Submit(MakeBatch(1, "refused"));
  REQUIRE(Eventually([&] { return writer.refused(); }));
  const auto t0 = std::chrono::steady_clock::now();
  writer.Stop();
  CHECK(std::chrono::steady_clock::now() - t0 < 1s);
  CHECK(spool->NextSequence() == 2u);
  writer.Stop();  // idempotent
}

TEST_CASE("spool writer: with sync_every it keeps appending (the interval fsync runs on the writer thread)") {
  TempDir dir;
  auto spool = OpenSpool(dir, 1ull << 30);
  SpoolWriter writer(*spool, SpoolWriterOptions{1, spool::FsyncPolicy::kInterval, 20ms}, [] {});
  for (int i = 1; i <= 5; ++i) {
    writer.Submit(MakeBatch(i, "s"));
    std::this_thread::sleep_for(15ms);
  }
  REQUIRE(writer.WaitIdle(5s));
  CHECK(writer.TakeAppended().size() == 5u);
}

TEST_CASE("spool writer: fsync interval, spool full: what is spooled becomes shippable before waiting for room") {
  // The acks that make room can only come for frames the shipper may read; an interval sync
  // that waits behind the refused append would wedge the agent for good.
  TempDir dir;
  auto spool = OpenSpool(dir, 1, spool::FsyncPolicy::kInterval);
  SpoolWriter writer(*spool, SpoolWriterOptions{1, spool::FsyncPolicy::kInterval, 1h}, [] {});
  writer.Submit(MakeBatch(3, "first"));
  writer.Submit(MakeBatch(4, "second"));
  REQUIRE(Eventually([&] { return writer.refused(); }));
  CHECK(spool->WaitForFrame(1, 2s));  // frame 1 readable while the writer waits
  spool->Ack(1);
  REQUIRE(Eventually([&] { return writer.Pending() == 0; }));
  writer.Stop();
}

}  // namespace
}  // namespace logship::agent
