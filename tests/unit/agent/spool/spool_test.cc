#include "agent/spool/spool.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include "agent/spool/frame_format.h"
#include "tests/unit/testing/temp_dir.h"

namespace logship::spool {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

constexpr uint64_t kSegmentBytes = 64 << 10;  // the smallest segment Open allows
constexpr size_t kPayloadSize = 20000;        // three frames fit a 64 KiB segment, four do not

std::string PayloadFor(uint64_t seq) {
  std::string p(kPayloadSize, '\0');
  for (size_t i = 0; i < p.size(); ++i) p[i] = static_cast<char>((seq * 31 + i * 7) & 0xff);
  return p;
}
std::string MetaFor(uint64_t seq) { return "meta-" + std::to_string(seq); }
uint64_t FrameSizeFor(uint64_t seq) { return kFrameHeaderSize + kPayloadSize + MetaFor(seq).size(); }

SpoolOptions Options(const TempDir& dir, uint64_t max_bytes = 1ull << 30, FsyncPolicy fsync = FsyncPolicy::kNever) {
  SpoolOptions o;
  o.dir = dir.File("spool");
  o.max_bytes = max_bytes;
  o.segment_bytes = kSegmentBytes;
  o.fsync = fsync;
  return o;
}

std::unique_ptr<Spool> OpenSpool(const SpoolOptions& o) {
  auto r = Spool::Open(o);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  return std::move(r).value();
}

Result<uint64_t> AppendFrame(Spool& s, uint64_t expected_seq, std::string_view meta_override = "\x01") {
  const std::string payload = PayloadFor(expected_seq);
  const std::string meta = meta_override == "\x01" ? MetaFor(expected_seq) : std::string(meta_override);
  AppendRequest req;
  req.record_count = static_cast<uint32_t>(expected_seq + 100);
  req.uncompressed_bytes = static_cast<uint32_t>(expected_seq + 5000);
  req.codec = 2;
  req.payload = payload;
  req.meta = meta;
  return s.Append(req);
}

void AppendFrames(Spool& s, uint64_t first, uint64_t last) {
  for (uint64_t seq = first; seq <= last; ++seq) {
    auto r = AppendFrame(s, seq);
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    REQUIRE(*r == seq);
  }
}

void CheckFrame(Spool& s, uint64_t seq) {
  auto f = s.Read(seq);
  REQUIRE_MESSAGE(f.ok(), "frame ", seq, ": ", f.status().ToString());
  CHECK(f->sequence == seq);
  CHECK(f->record_count == seq + 100);
  CHECK(f->uncompressed_bytes == seq + 5000);
  CHECK(f->codec == 2);
  CHECK_MESSAGE(f->payload == PayloadFor(seq), "payload of frame ", seq);
}

bool IsGone(Spool& s, uint64_t seq) { return s.Read(seq).status().code() == Status::Code::kNotFound; }

std::vector<std::string> SegmentFiles(const SpoolOptions& o) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(o.dir))
    if (e.path().extension() == ".seg") out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

uint64_t SegmentBytesOnDisk(const SpoolOptions& o) {
  uint64_t total = 0;
  for (const auto& e : fs::directory_iterator(o.dir))
    if (e.path().extension() == ".seg") total += e.file_size();
  return total;
}

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
