// Helpers shared by the spool unit tests.
#pragma once

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
namespace test_util {

namespace fs = std::filesystem;
using testing::TempDir;

constexpr uint64_t kSegmentBytes = 64 << 10;  // the smallest segment Open allows
constexpr size_t kPayloadSize = 20000;        // three frames fit a 64 KiB segment, four do not

inline std::string PayloadFor(uint64_t seq) {
  std::string p(kPayloadSize, '\0');
  for (size_t i = 0; i < p.size(); ++i) p[i] = static_cast<char>((seq * 31 + i * 7) & 0xff);
  return p;
}
inline std::string MetaFor(uint64_t seq) { return "meta-" + std::to_string(seq); }
inline uint64_t FrameSizeFor(uint64_t seq) { return kFrameHeaderSize + kPayloadSize + MetaFor(seq).size(); }

inline SpoolOptions Options(const TempDir& dir, uint64_t max_bytes = 1ull << 30, FsyncPolicy fsync = FsyncPolicy::kNever) {
  SpoolOptions o;
  o.dir = dir.File("spool");
  o.max_bytes = max_bytes;
  o.segment_bytes = kSegmentBytes;
  o.fsync = fsync;
  return o;
}

inline std::unique_ptr<Spool> OpenSpool(const SpoolOptions& o) {
  auto r = Spool::Open(o);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  return std::move(r).value();
}

inline Result<uint64_t> AppendFrame(Spool& s, uint64_t expected_seq, std::string_view meta_override = "\x01") {
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

inline void AppendFrames(Spool& s, uint64_t first, uint64_t last) {
  for (uint64_t seq = first; seq <= last; ++seq) {
    auto r = AppendFrame(s, seq);
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    REQUIRE(*r == seq);
  }
}

inline void CheckFrame(Spool& s, uint64_t seq) {
  auto f = s.Read(seq);
  REQUIRE_MESSAGE(f.ok(), "frame ", seq, ": ", f.status().ToString());
  CHECK(f->sequence == seq);
  CHECK(f->record_count == seq + 100);
  CHECK(f->uncompressed_bytes == seq + 5000);
  CHECK(f->codec == 2);
  CHECK_MESSAGE(f->payload == PayloadFor(seq), "payload of frame ", seq);
}

inline bool IsGone(Spool& s, uint64_t seq) { return s.Read(seq).status().code() == Status::Code::kNotFound; }

inline std::vector<std::string> SegmentFiles(const SpoolOptions& o) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(o.dir))
    if (e.path().extension() == ".seg") out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

inline uint64_t SegmentBytesOnDisk(const SpoolOptions& o) {
  uint64_t total = 0;
  for (const auto& e : fs::directory_iterator(o.dir))
    if (e.path().extension() == ".seg") total += e.file_size();
  return total;
}

}  // namespace test_util
}  // namespace logship::spool
