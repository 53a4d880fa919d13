#include "agent/spool/segment_reader.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <vector>

#include "agent/spool/frame_format.h"
#include "common/file_util.h"
#include "tests/unit/testing/temp_dir.h"

namespace logship::spool {
namespace {

std::string SegmentHeader() {
  std::string h(kSegmentMagic, sizeof kSegmentMagic);
  h.append("\x01\x00\x00\x00\x00\x00\x00\x00", 8);
  return h;
}

std::string Frame(uint64_t seq, std::string_view payload, std::string_view meta = "") {
  FrameHeader h;
  h.sequence = seq;
  h.record_count = static_cast<uint32_t>(seq * 10);
  h.codec = 2;
  std::string out;
  EncodeFrame(h, payload, meta, &out);
  return out;
}

struct Scan {
  Status header;
  std::vector<FrameLocation> frames;
  uint64_t valid_end = 0, corrupt = 0, skipped = 0;
  Status status;
};

Scan ScanBytes(const std::string& bytes) {
  testing::TempDir dir;
  const std::string path = dir.File("seg");
  testing::WriteFile(path, bytes);
  logship::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  REQUIRE(fd.valid());
  SegmentReader r(fd.get(), bytes.size());
  Scan scan;
  scan.header = r.ReadSegmentHeader();
  if (scan.header.ok()) {
    while (auto loc = r.Next()) scan.frames.push_back(*loc);
  }
  scan.valid_end = r.valid_end();
  scan.corrupt = r.corrupt_frames();
  scan.skipped = r.skipped_bytes();
  scan.status = r.status();
  return scan;
}

std::vector<uint64_t> Sequences(const Scan& s) {
  std::vector<uint64_t> out;
  for (const auto& f : s.frames) out.push_back(f.header.sequence);
  return out;
}

const std::string kP1(300, 'a'), kP2(500, 'b'), kP3(200, 'c');

TEST_CASE("segment reader: a clean segment yields every frame with its offset") {
  const std::string f1 = Frame(1, kP1, "m1"), f2 = Frame(2, kP2), f3 = Frame(3, kP3, "m3");
  const std::string seg = SegmentHeader() + f1 + f2 + f3;
  const Scan s = ScanBytes(seg);
  REQUIRE(s.header.ok());
  CHECK(Sequences(s) == std::vector<uint64_t>{1, 2, 3});
  REQUIRE(s.frames.size() == 3);
  CHECK(s.frames[0].offset == kSegmentHeaderSize);
  CHECK(s.frames[1].offset == kSegmentHeaderSize + f1.size());
  CHECK(s.frames[2].offset == kSegmentHeaderSize + f1.size() + f2.size());
  CHECK(s.frames[1].header.payload_length == kP2.size());
  CHECK(s.frames[2].header.meta_length == 2u);
  CHECK(s.frames[2].header.record_count == 30u);
  CHECK(s.valid_end == seg.size());
  CHECK(s.corrupt == 0);
  CHECK(s.skipped == 0);
  CHECK(s.status.ok());
}

TEST_CASE("segment reader: an empty segment (header only) has no frames") {
  const Scan s = ScanBytes(SegmentHeader());
  REQUIRE(s.header.ok());
  CHECK(s.frames.empty());
  CHECK(s.valid_end == kSegmentHeaderSize);
}

TEST_CASE("segment reader: a torn last frame ends the scan at the previous frame") {
  const std::string f1 = Frame(1, kP1), f2 = Frame(2, kP2), f3 = Frame(3, kP3);
  const std::string whole = SegmentHeader() + f1 + f2 + f3;
  const uint64_t end2 = kSegmentHeaderSize + f1.size() + f2.size();
  // Cut anywhere inside frame 3, including inside its header.
  for (size_t keep : {size_t{1}, size_t{20}, size_t{39}, size_t{40}, size_t{41}, f3.size() / 2, f3.size() - 1}) {
    const Scan s = ScanBytes(whole.substr(0, end2 + keep));
    CHECK_MESSAGE((Sequences(s) == std::vector<uint64_t>{1, 2}), "keep ", keep);
    CHECK(s.valid_end == end2);
    CHECK(s.skipped == keep);
    CHECK(s.corrupt == 0);  // a torn tail is not counted as corruption
  }
}

TEST_CASE("segment reader: a damaged frame in the middle is skipped and counted") {
  const std::string f1 = Frame(1, kP1), f2 = Frame(2, kP2), f3 = Frame(3, kP3);
  const std::string whole = SegmentHeader() + f1 + f2 + f3;
  const size_t f2_start = kSegmentHeaderSize + f1.size();
  // Damage the header magic, the CRC, a length, the payload and the last byte of frame 2.
  for (size_t at : {size_t{0}, size_t{5}, size_t{17}, size_t{100}, f2.size() - 1}) {
    std::string bad = whole;
    bad[f2_start + at] = static_cast<char>(bad[f2_start + at] ^ 0x40);
    const Scan s = ScanBytes(bad);
    CHECK_MESSAGE((Sequences(s) == std::vector<uint64_t>{1, 3}), "damage at ", at);
    CHECK(s.corrupt == 1);
    CHECK(s.skipped == f2.size());
    CHECK(s.valid_end == whole.size());
    REQUIRE(s.frames.size() == 2);
    CHECK(s.frames[1].offset == f2_start + f2.size());
  }
}

TEST_CASE("segment reader: garbage between frames is skipped by searching for the next magic") {
  const std::string f1 = Frame(1, kP1), f2 = Frame(2, kP2);
  // Garbage that even contains the frame magic, but not a valid frame.
  const std::string garbage = std::string("junk LSPF more junk LSPF") + std::string(100, '\x7f');
  const Scan s = ScanBytes(SegmentHeader() + f1 + garbage + f2);
  CHECK(Sequences(s) == std::vector<uint64_t>{1, 2});
  CHECK(s.corrupt == 1);
  CHECK(s.skipped == garbage.size());
}

TEST_CASE("segment reader: a complete last frame with a wrong CRC is counted as damage, not a torn tail") {
  const std::string f1 = Frame(1, kP1);
  for (size_t at : {size_t{0}, size_t{4}, size_t{100}}) {  // its magic, its CRC, its payload
    std::string f2 = Frame(2, kP2);
    f2[at] = static_cast<char>(f2[at] ^ 1);
    const Scan s = ScanBytes(SegmentHeader() + f1 + f2);
    CHECK(Sequences(s) == std::vector<uint64_t>{1});
    CHECK(s.valid_end == kSegmentHeaderSize + f1.size());
    CHECK(s.skipped == f2.size());
    CHECK_MESSAGE(s.corrupt == 1, "damage at ", at);
  }
}

TEST_CASE("segment reader: zeros after the last frame (a power cut before the data reached disk) are a torn tail") {
  const std::string f1 = Frame(1, kP1);
  const Scan s = ScanBytes(SegmentHeader() + f1 + std::string(4096, '\0'));
  CHECK(Sequences(s) == std::vector<uint64_t>{1});
  CHECK(s.corrupt == 0);
}

TEST_CASE("segment reader: after a damaged segment header the frames are still recovered, and it is counted") {
  std::string seg = SegmentHeader() + Frame(1, kP1) + Frame(2, kP2);
  seg[2] = 'X';
  testing::TempDir dir;
  const std::string path = dir.File("seg");
  testing::WriteFile(path, seg);
  logship::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  SegmentReader r(fd.get(), seg.size());
  REQUIRE_FALSE(r.ReadSegmentHeader().ok());
  r.SkipDamagedHeader();
  std::vector<uint64_t> seqs;
  while (auto loc = r.Next()) seqs.push_back(loc->header.sequence);
  CHECK(seqs == std::vector<uint64_t>{1, 2});
  CHECK(r.corrupt_frames() == 1u);
  CHECK(r.valid_end() == seg.size());
}

TEST_CASE("segment reader: a missing or foreign segment header is corruption") {
  CHECK(ScanBytes("").header.code() == Status::Code::kCorruption);
  CHECK(ScanBytes("LSHPSEG1").header.code() == Status::Code::kCorruption);
  std::string foreign = SegmentHeader();
  foreign[0] = 'X';
  CHECK(ScanBytes(foreign + Frame(1, kP1)).header.code() == Status::Code::kCorruption);
  std::string v2 = SegmentHeader();
  v2[8] = 2;
  CHECK(ScanBytes(v2 + Frame(1, kP1)).header.code() == Status::Code::kCorruption);
}

}  // namespace
}  // namespace logship::spool
