#include "agent/spool/spool.h"

#include <doctest/doctest.h>

#include "tests/unit/agent/spool/spool_test_util.h"

namespace logship::spool {
namespace {

using namespace test_util;

TEST_CASE("spool: a torn tail is cut and earlier frames survive") {
  TempDir dir;
  const auto o = Options(dir);
  {
    auto s = OpenSpool(o);
    AppendFrames(*s, 1, 3);
  }
  const std::string seg = o.dir + "/00000000000000000001.seg";
  const uint64_t end_of_2 = kSegmentHeaderSize + FrameSizeFor(1) + FrameSizeFor(2);
  REQUIRE(fs::file_size(seg) == end_of_2 + FrameSizeFor(3));
  const uint64_t cut_at = end_of_2 + FrameSizeFor(3) / 2;  // kill -9 in the middle of frame 3
  REQUIRE(::truncate(seg.c_str(), static_cast<off_t>(cut_at)) == 0);

  {
    auto s = OpenSpool(o);
    CHECK(s->recovery().torn_bytes == cut_at - end_of_2);
    CHECK(s->recovery().corrupt_frames == 0);
    CHECK(s->recovery().frames == 2);
    CHECK(fs::file_size(seg) == end_of_2);  // the file was cut
    CheckFrame(*s, 1);
    CheckFrame(*s, 2);
    CHECK(IsGone(*s, 3));
    CHECK(s->UnackedFrames() == 2);
    CHECK(s->Bytes() == SegmentBytesOnDisk(o));
    // Frame 3 was never shipped, so its sequence may be handed out again.
    AppendFrames(*s, 3, 3);
  }
  auto s = OpenSpool(o);
  CHECK(s->recovery().torn_bytes == 0);
  for (uint64_t seq = 1; seq <= 3; ++seq) CheckFrame(*s, seq);
}

TEST_CASE("spool: a torn frame header at the tail is cut too") {
  TempDir dir;
  const auto o = Options(dir);
  {
    auto s = OpenSpool(o);
    AppendFrames(*s, 1, 2);
  }
  const std::string seg = o.dir + "/00000000000000000001.seg";
  const uint64_t end_of_1 = kSegmentHeaderSize + FrameSizeFor(1);
  REQUIRE(::truncate(seg.c_str(), static_cast<off_t>(end_of_1 + 12)) == 0);
  auto s = OpenSpool(o);
  CHECK(s->recovery().torn_bytes == 12);
  CHECK(fs::file_size(seg) == end_of_1);
  CheckFrame(*s, 1);
  CHECK(IsGone(*s, 2));
}

TEST_CASE("spool: a corrupt frame in the middle is skipped and counted, its neighbours survive") {
  TempDir dir;
  const auto o = Options(dir);
  {
    auto s = OpenSpool(o);
    AppendFrames(*s, 1, 3);
  }
  const std::string seg = o.dir + "/00000000000000000001.seg";
  std::string bytes = testing::ReadFile(seg);
  const size_t in_frame_2 = kSegmentHeaderSize + FrameSizeFor(1) + kFrameHeaderSize + 1234;
  bytes[in_frame_2] = static_cast<char>(bytes[in_frame_2] ^ 0x01);
  testing::WriteFile(seg, bytes);

  auto s = OpenSpool(o);
  CHECK(s->recovery().corrupt_frames == 1);
  CHECK(s->recovery().frames == 2);
  CHECK(s->recovery().torn_bytes == FrameSizeFor(2));
  CheckFrame(*s, 1);
  CHECK(IsGone(*s, 2));
  CheckFrame(*s, 3);
  CHECK(s->UnackedFrames() == 2);
  CHECK(s->NextSequence() == 4);
}

TEST_CASE("spool: ForEachRecoveredMetaAfter replays metas after the checkpoint, in order, acked or not") {
  TempDir dir;
  const auto o = Options(dir);
  {
    auto s = OpenSpool(o);
    AppendFrames(*s, 1, 3);
    REQUIRE(AppendFrame(*s, 4, "").ok());  // a frame without meta
    AppendFrames(*s, 5, 7);
    for (uint64_t seq = 1; seq <= 5; ++seq) s->Ack(seq);
  }
  auto s = OpenSpool(o);
  std::vector<std::pair<uint64_t, std::string>> seen;
  REQUIRE(s->ForEachRecoveredMetaAfter(2, [&](uint64_t seq, std::string_view meta) {
               seen.emplace_back(seq, std::string(meta));
             }).ok());
  const std::vector<std::pair<uint64_t, std::string>> expected{
      {3, "meta-3"}, {5, "meta-5"}, {6, "meta-6"}, {7, "meta-7"}};
  CHECK(seen == expected);
}

TEST_CASE("spool: ForEachRecoveredMetaAfter on a fresh spool calls nothing") {
  TempDir dir;
  auto s = OpenSpool(Options(dir));
  int calls = 0;
  CHECK(s->ForEachRecoveredMetaAfter(0, [&](uint64_t, std::string_view) { ++calls; }).ok());
  CHECK(calls == 0);
}

TEST_CASE("spool: EnsureSequenceAbove moves new sequences past a checkpoint, never backwards") {
  TempDir dir;
  const auto o = Options(dir);
  {
    auto s = OpenSpool(o);
    s->EnsureSequenceAbove(100);
    CHECK(s->NextSequence() == 101);
    CHECK(s->FirstUnacked() == 101);
    s->EnsureSequenceAbove(50);
    CHECK(s->NextSequence() == 101);
    AppendFrames(*s, 101, 102);
    CHECK(s->FirstUnacked() == 101);
  }
  auto s = OpenSpool(o);
  CheckFrame(*s, 101);
  CheckFrame(*s, 102);
  CHECK(s->NextSequence() == 103);
  s->EnsureSequenceAbove(102);
  CHECK(s->NextSequence() == 103);
}

TEST_CASE("spool: frames appended after two restarts without appends are still there after a third") {
  // Each Open starts a fresh active segment named after the next sequence. An empty segment
  // left by the previous run has that same name; the new active file must not be removed.
  TempDir dir;
  const auto o = Options(dir);
  { auto s = OpenSpool(o); }
  {
    auto s = OpenSpool(o);
    AppendFrames(*s, 1, 2);
    CHECK(s->Bytes() == SegmentBytesOnDisk(o));
  }
  auto s = OpenSpool(o);
  CHECK(s->recovery().frames == 2);
  CheckFrame(*s, 1);
  CheckFrame(*s, 2);
}

TEST_CASE("spool: an empty active segment left by a restart does not take the next segment with it") {
  TempDir dir;
  const auto o = Options(dir);
  {
    auto s = OpenSpool(o);
    AppendFrames(*s, 1, 3);
    for (uint64_t seq = 1; seq <= 3; ++seq) s->Ack(seq);
  }
  { auto s = OpenSpool(o); }  // leaves an empty segment 4
  {
    auto s = OpenSpool(o);
    AppendFrames(*s, 4, 5);
    s->MarkCheckpointed(3);  // segment 1 goes; segment 4 holds unacked frames and must stay
    CHECK(s->Bytes() == SegmentBytesOnDisk(o));
  }
  auto s = OpenSpool(o);
  CHECK(s->recovery().unacked_frames == 2);
  CheckFrame(*s, 4);
  CheckFrame(*s, 5);
}

TEST_CASE("spool: segments recovered after a restart are reclaimed once acked and checkpointed") {
  TempDir dir;
  const auto o = Options(dir);
  {
    auto s = OpenSpool(o);
    AppendFrames(*s, 1, 4);  // [1-3] [4]
    for (uint64_t seq = 1; seq <= 3; ++seq) s->Ack(seq);
  }
  auto s = OpenSpool(o);
  CHECK(s->recovery().segments == 2);
  CHECK(s->UnackedFrames() == 1);
  CHECK(fs::exists(o.dir + "/00000000000000000001.seg"));
  s->MarkCheckpointed(3);
  CHECK_FALSE(fs::exists(o.dir + "/00000000000000000001.seg"));
  CHECK(fs::exists(o.dir + "/00000000000000000004.seg"));
  CheckFrame(*s, 4);
  CHECK(s->Bytes() == SegmentBytesOnDisk(o));
}

TEST_CASE("spool: a fully acked and checkpointed active segment is recycled by the next append") {
  TempDir dir;
  const auto o = Options(dir);
  {
    auto s = OpenSpool(o);
    AppendFrames(*s, 1, 2);
    s->Ack(1);
    s->Ack(2);
    s->MarkCheckpointed(2);
    CHECK(SegmentFiles(o) == std::vector<std::string>{"00000000000000000001.seg"});  // the active one stays
    AppendFrames(*s, 3, 3);
    CHECK(SegmentFiles(o) == std::vector<std::string>{"00000000000000000003.seg"});
    CHECK(s->Bytes() == kSegmentHeaderSize + FrameSizeFor(3));
    CHECK(s->Bytes() == SegmentBytesOnDisk(o));
    CheckFrame(*s, 3);
  }
  auto s = OpenSpool(o);
  CHECK(s->NextSequence() == 4);
  CHECK(s->FirstUnacked() == 3);
  CheckFrame(*s, 3);
}

TEST_CASE("spool: appended frames survive a crash (no destructor, no clean shutdown)") {
  TempDir dir;
  const auto o = Options(dir, 1ull << 30, FsyncPolicy::kBatch);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // Child: no doctest macros here; exit without unwinding, like kill -9 after the appends.
    auto r = Spool::Open(o);
    if (!r.ok()) ::_exit(10);
    Spool* s = r.value().release();
    for (uint64_t seq = 1; seq <= 5; ++seq) {
      const std::string payload = PayloadFor(seq), meta = MetaFor(seq);
      AppendRequest req;
      req.record_count = static_cast<uint32_t>(seq + 100);
      req.uncompressed_bytes = static_cast<uint32_t>(seq + 5000);
      req.codec = 2;
      req.payload = payload;
      req.meta = meta;
      auto a = s->Append(req);
      if (!a.ok() || *a != seq) ::_exit(11);
    }
    s->Ack(1);
    s->Ack(2);
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  auto s = OpenSpool(o);
  CHECK(s->recovery().frames == 5);
  CHECK(s->recovery().torn_bytes == 0);
  // The acks may be lost with the process (frames are then re-sent); frames never are.
  for (uint64_t seq = 3; seq <= 5; ++seq) CheckFrame(*s, seq);
  CHECK(s->NextSequence() == 6);
}

TEST_CASE("spool: files that are not segments are left alone, and a foreign segment is dropped") {
  TempDir dir;
  const auto o = Options(dir);
  { auto s = OpenSpool(o); AppendFrames(*s, 1, 1); }
  testing::WriteFile(o.dir + "/README", "not a segment");
  testing::WriteFile(o.dir + "/00000000000000000009.seg", "garbage that is not a segment header");
  auto s = OpenSpool(o);
  CheckFrame(*s, 1);
  CHECK(fs::exists(o.dir + "/README"));
  CHECK_FALSE(fs::exists(o.dir + "/00000000000000000009.seg"));
}

}  // namespace
}  // namespace logship::spool
