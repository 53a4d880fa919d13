#include "agent/spool/spool.h"

#include <doctest/doctest.h>

#include "tests/unit/agent/spool/spool_test_util.h"

namespace logship::spool {
namespace {

using namespace test_util;

TEST_CASE("spool: appended frames read back with their payload and header fields") {
  TempDir dir;
  const auto o = Options(dir, 1ull << 30, FsyncPolicy::kBatch);
  auto s = OpenSpool(o);
  CHECK(s->NextSequence() == 1);
  CHECK(s->FirstUnacked() == 1);
  CHECK(s->UnackedFrames() == 0);
  AppendFrames(*s, 1, 5);
  CHECK(s->UnackedFrames() == 5);
  CHECK(s->FirstUnacked() == 1);
  CHECK(s->NextSequence() == 6);
  for (uint64_t seq = 1; seq <= 5; ++seq) CheckFrame(*s, seq);
  CHECK(IsGone(*s, 6));  // not written yet
  CHECK(IsGone(*s, 0));
  CHECK(s->Bytes() == SegmentBytesOnDisk(o));
}

TEST_CASE("spool: WaitForFrame reports whether a frame has been appended") {
  TempDir dir;
  auto s = OpenSpool(Options(dir));
  CHECK_FALSE(s->WaitForFrame(1, std::chrono::milliseconds(0)));
  AppendFrames(*s, 1, 1);
  CHECK(s->WaitForFrame(1, std::chrono::milliseconds(0)));
  CHECK_FALSE(s->WaitForFrame(2, std::chrono::milliseconds(0)));
}

// A group-commit append of `payload` (which must outlive the request).
AppendRequest Deferred(const std::string& payload) {
  AppendRequest req;
  req.payload = payload;
  req.meta = "m";
  req.defer_sync = true;
  return req;
}

TEST_CASE("spool: with fsync batch, deferred appends become readable only at the Sync that makes them durable") {
  TempDir dir;
  auto s = OpenSpool(Options(dir, 1ull << 30, FsyncPolicy::kBatch));
  const std::string payload = PayloadFor(1);
  AppendRequest req = Deferred(payload);
  REQUIRE(s->Append(req).ok());
  REQUIRE(s->Append(req).ok());
  CHECK(s->NextSequence() == 1);  // the shipper must not send what a power cut could undo
  CHECK_FALSE(s->WaitForFrame(1, std::chrono::milliseconds(0)));
  CHECK(s->UnackedFrames() == 2);
  REQUIRE(s->Sync().ok());
  CHECK(s->NextSequence() == 3);
  CHECK(s->WaitForFrame(2, std::chrono::milliseconds(0)));

  REQUIRE(s->Append(req).ok());
  req.defer_sync = false;  // an fsynced append covers the deferred one before it too
  REQUIRE(s->Append(req).ok());
  CHECK(s->NextSequence() == 5);
}

TEST_CASE("spool: with fsync never, an append is readable at once") {
  TempDir dir;
  auto s = OpenSpool(Options(dir, 1ull << 30, FsyncPolicy::kNever));
  const std::string payload = PayloadFor(1);
  REQUIRE(s->Append(Deferred(payload)).ok());
  AppendRequest plain = Deferred(payload);
  plain.defer_sync = false;
  REQUIRE(s->Append(plain).ok());
  CHECK(s->NextSequence() == 3);
}

TEST_CASE("spool: with fsync interval, appends become readable at the interval's Sync, never before") {
  TempDir dir;
  auto s = OpenSpool(Options(dir, 1ull << 30, FsyncPolicy::kInterval));
  const std::string payload = PayloadFor(1);
  AppendRequest req = Deferred(payload);
  req.defer_sync = false;  // even an append not deferred: interval mode never fsyncs per append
  REQUIRE(s->Append(req).ok());
  REQUIRE(s->Append(Deferred(payload)).ok());
  CHECK(s->NextSequence() == 1);  // a power cut could undo them: not shipped yet
  REQUIRE(s->Sync().ok());
  CHECK(s->NextSequence() == 3);
}

TEST_CASE("spool: an acked frame is no longer readable or counted") {
  TempDir dir;
  auto s = OpenSpool(Options(dir));
  AppendFrames(*s, 1, 3);
  s->Ack(1);
  CHECK(s->UnackedFrames() == 2);
  CHECK(s->FirstUnacked() == 2);
  CHECK(IsGone(*s, 1));
  CheckFrame(*s, 2);
  s->Ack(1);  // acking twice is harmless
  CHECK(s->UnackedFrames() == 2);
  s->Ack(2);
  s->Ack(3);
  CHECK(s->UnackedFrames() == 0);
  CHECK(s->FirstUnacked() == 4);  // NextSequence() when everything is acked
  CHECK(s->FirstUnacked() == s->NextSequence());
}

TEST_CASE("spool: acks may arrive out of order") {
  TempDir dir;
  auto s = OpenSpool(Options(dir));
  AppendFrames(*s, 1, 4);
  s->Ack(3);
  CHECK(IsGone(*s, 3));
  CHECK(s->FirstUnacked() == 1);
  CHECK(s->UnackedFrames() == 3);
  CheckFrame(*s, 1);
  CheckFrame(*s, 2);
  s->Ack(1);
  CHECK(s->FirstUnacked() == 2);
  s->Ack(2);
  CHECK(s->FirstUnacked() == 4);  // 3 was acked already
  CheckFrame(*s, 4);
}

TEST_CASE("spool: after a restart unacked frames are back, identical, and acked ones are not re-sent") {
  TempDir dir;
  const auto o = Options(dir);
  {
    auto s = OpenSpool(o);
    AppendFrames(*s, 1, 5);
    s->Ack(1);
    s->Ack(2);
  }
  CHECK(fs::exists(fs::path(o.dir) / kAckedFile));
  auto s = OpenSpool(o);
  CHECK(s->recovery().frames == 5);
  CHECK(s->recovery().unacked_frames == 3);
  CHECK(s->recovery().corrupt_frames == 0);
  CHECK(s->recovery().torn_bytes == 0);
  CHECK(s->UnackedFrames() == 3);
  CHECK(s->FirstUnacked() == 3);
  CHECK(IsGone(*s, 1));
  CHECK(IsGone(*s, 2));
  for (uint64_t seq = 3; seq <= 5; ++seq) CheckFrame(*s, seq);
  CHECK(s->NextSequence() == 6);
  AppendFrames(*s, 6, 6);  // sequences continue; never reused
  CheckFrame(*s, 6);
  CHECK(s->Bytes() == SegmentBytesOnDisk(o));
}

TEST_CASE("spool: segments roll at segment_bytes and fully acked, checkpointed ones are deleted") {
  TempDir dir;
  const auto o = Options(dir);
  auto s = OpenSpool(o);
  AppendFrames(*s, 1, 7);
  // Three frames per segment: [1-3] [4-6] [7].
  REQUIRE(SegmentFiles(o) == std::vector<std::string>{"00000000000000000001.seg", "00000000000000000004.seg",
                                                      "00000000000000000007.seg"});
  CHECK(s->Bytes() == SegmentBytesOnDisk(o));
  for (uint64_t seq = 1; seq <= 7; ++seq) CheckFrame(*s, seq);

  // Acked but not yet covered by the checkpoint file: kept.
  for (uint64_t seq = 1; seq <= 6; ++seq) s->Ack(seq);
  CHECK(SegmentFiles(o).size() == 3);
  // Checkpoint covers part of the first segment only: kept.
  s->MarkCheckpointed(2);
  CHECK(SegmentFiles(o).size() == 3);
  s->MarkCheckpointed(3);
  CHECK(SegmentFiles(o) == std::vector<std::string>{"00000000000000000004.seg", "00000000000000000007.seg"});
  CHECK(s->Bytes() == SegmentBytesOnDisk(o));
  s->MarkCheckpointed(6);
  CHECK(SegmentFiles(o) == std::vector<std::string>{"00000000000000000007.seg"});
  CHECK(s->Bytes() == kSegmentHeaderSize + FrameSizeFor(7));
  CHECK(s->Bytes() == SegmentBytesOnDisk(o));
  // The acked mark reached disk before the frames it describes were deleted.
  CHECK(testing::ReadFile(o.dir + "/" + kAckedFile) == "6\n");
  CheckFrame(*s, 7);
}

TEST_CASE("spool: a checkpointed segment with an unacked frame is kept") {
  TempDir dir;
  const auto o = Options(dir);
  auto s = OpenSpool(o);
  AppendFrames(*s, 1, 7);
  s->Ack(1);
  s->Ack(3);  // 2 still in flight
  s->MarkCheckpointed(7);
  CHECK(SegmentFiles(o).size() == 3);
  CheckFrame(*s, 2);
  s->Ack(2);
  CHECK(SegmentFiles(o).size() == 2);
}

TEST_CASE("spool: when max_bytes is reached Append refuses without writing, and accepts again after acks") {
  TempDir dir;
  const uint64_t max_bytes = 256 << 10;
  const auto o = Options(dir, max_bytes);
  auto s = OpenSpool(o);
  uint64_t seq = 1;
  for (; seq < 100; ++seq) {
    auto r = AppendFrame(*s, seq);
    if (!r.ok()) {
      CHECK(r.status().code() == Status::Code::kResourceExhausted);
      break;
    }
    REQUIRE(*r == seq);
  }
  REQUIRE(seq < 100);
  REQUIRE(seq > 4);
  const uint64_t full = seq - 1;  // frames 1..full were accepted
  CHECK(s->Bytes() <= max_bytes);
  const uint64_t bytes_before = s->Bytes();
  const uint64_t disk_before = SegmentBytesOnDisk(o);
  CHECK(bytes_before == disk_before);

  // Still refused on a retry; nothing was written and no sequence was used up.
  CHECK(AppendFrame(*s, seq).status().code() == Status::Code::kResourceExhausted);
  CHECK(s->Bytes() == bytes_before);
  CHECK(SegmentBytesOnDisk(o) == disk_before);
  CHECK(s->NextSequence() == full + 1);
  CHECK(s->UnackedFrames() == full);

  // Acks alone do not free space: the checkpoint file must cover the segment as well.
  for (uint64_t a = 1; a <= 3; ++a) s->Ack(a);
  CHECK(AppendFrame(*s, full + 1).status().code() == Status::Code::kResourceExhausted);
  s->MarkCheckpointed(3);
  CHECK(s->Bytes() < bytes_before);
  auto r = AppendFrame(*s, full + 1);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  CHECK(*r == full + 1);
  CheckFrame(*s, full + 1);
  CHECK(s->Bytes() <= max_bytes);
}

TEST_CASE("spool: a single frame larger than the bound is accepted when nothing is waiting") {
  TempDir dir;
  const auto o = Options(dir, 256 << 10);
  auto s = OpenSpool(o);
  std::string big(300 << 10, 'x');
  AppendRequest req;
  req.payload = big;
  auto r = s->Append(req);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  auto f = s->Read(*r);
  REQUIRE(f.ok());
  CHECK(f->payload == big);
}

}  // namespace
}  // namespace logship::spool
