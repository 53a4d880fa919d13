#include "common/zstd_codec.h"

#include <doctest/doctest.h>

#include <string>

#include "tests/unit/testing/alloc_probe.h"

namespace logship {
namespace {

constexpr size_t kMiB = 1 << 20;

std::string Text(size_t n) {
  std::string s;
  s.reserve(n);
  for (size_t i = 0; s.size() < n; ++i) s += "line " + std::to_string(i * 7919 % 100003) + " of the log\n";
  s.resize(n);
  return s;
}

// A zstd frame without a content size in its header (as a streaming compressor writes it).
std::string CompressWithoutContentSize(std::string_view in) {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0);
  std::string out(ZSTD_compressBound(in.size()), '\0');
  const size_t n = ZSTD_compress2(c, out.data(), out.size(), in.data(), in.size());
  ZSTD_freeCCtx(c);
  REQUIRE_FALSE(ZSTD_isError(n));
  out.resize(n);
  REQUIRE(ZSTD_getFrameContentSize(out.data(), out.size()) == ZSTD_CONTENTSIZE_UNKNOWN);
  return out;
}

TEST_CASE("zstd: compress then decompress returns the input") {
  ZstdCompressor c(1);
  ZstdDecompressor d;
  for (size_t n : {size_t{0}, size_t{1}, size_t{100}, size_t{200000}}) {
    const std::string in = Text(n);
    std::string packed, unpacked = "stale";
    REQUIRE(c.Compress(in, &packed).ok());
    if (n > 1000) CHECK(packed.size() < in.size() / 2);
    const Status s = d.Decompress(packed, in.size(), in.size(), &unpacked);
    REQUIRE_MESSAGE(s.ok(), s.ToString());
    CHECK(unpacked == in);
  }
}

TEST_CASE("zstd: one compressor, sizes below and above its kept buffer in turn, into one output string") {
  ZstdCompressor c(1);
  ZstdDecompressor d;
  std::string packed = std::string(5 * kMiB, 'x');  // stale content longer than any frame below
  for (size_t n : {size_t{300000}, 3 * kMiB, size_t{10}, size_t{1500000}, 2 * kMiB, size_t{0}}) {
    const std::string in = Text(n);
    REQUIRE(c.Compress(in, &packed).ok());
    std::string unpacked;
    const Status s = d.Decompress(packed, in.size(), in.size(), &unpacked);  // exact frame, no tail
    REQUIRE_MESSAGE(s.ok(), s.ToString());
    CHECK(unpacked == in);
  }
}

TEST_CASE("zstd: contexts are reusable across frames and levels") {
  const std::string in = Text(100000);
  ZstdCompressor fast(1), strong(19);
  ZstdDecompressor d;
  std::string a, b, out;
  REQUIRE(fast.Compress(in, &a).ok());
  REQUIRE(strong.Compress(in, &b).ok());
  for (const std::string* p : {&a, &b, &a}) {
    REQUIRE(d.Decompress(*p, in.size(), in.size(), &out).ok());
    CHECK(out == in);
  }
}

TEST_CASE("zstd: a declared size above the limit is refused before decompressing") {
  ZstdCompressor c(1);
  ZstdDecompressor d;
  const std::string in = Text(5000);
  std::string packed, out;
  REQUIRE(c.Compress(in, &packed).ok());
  const Status s = d.Decompress(packed, in.size(), in.size() - 1, &out);
  CHECK(s.code() == Status::Code::kResourceExhausted);
}

TEST_CASE("zstd: a declared size that differs from the frame's content size fails") {
  ZstdCompressor c(1);
  ZstdDecompressor d;
  const std::string in = Text(5000);
  std::string packed, out;
  REQUIRE(c.Compress(in, &packed).ok());
  CHECK_FALSE(d.Decompress(packed, in.size() - 1, 1 * kMiB, &out).ok());
  CHECK_FALSE(d.Decompress(packed, in.size() + 1, 1 * kMiB, &out).ok());
}

TEST_CASE("zstd: the allocation probe used below does see large allocations") {
  size_t largest = 0;
  {
    testing::AllocProbe probe;
    std::string big(20 * kMiB, 'x');
    largest = probe.largest();
    CHECK(big.size() == 20 * kMiB);
  }
  CHECK(largest >= 20 * kMiB);
}

TEST_CASE("zstd: a bomb (50 MiB of zeros claiming to be small) fails without allocating 50 MiB") {
  const std::string zeros(50 * kMiB, '\0');
  std::string bomb;
  {
    ZstdCompressor c(1);
    REQUIRE(c.Compress(zeros, &bomb).ok());
  }
  const std::string bomb_unknown_size = CompressWithoutContentSize(zeros);
  REQUIRE(bomb.size() < kMiB);

  ZstdDecompressor d;
  SUBCASE("content size in the header") {
    std::string out;
    size_t largest = 0;
    Status s;
    {
      testing::AllocProbe probe;
      s = d.Decompress(bomb, 4096, 16 * kMiB, &out);
      largest = probe.largest();
    }
    CHECK_FALSE(s.ok());
    CHECK(out.capacity() < 16 * kMiB);
    CHECK_MESSAGE(largest < 16 * kMiB, "largest allocation: ", largest);
  }
  SUBCASE("no content size in the header") {
    std::string out;
    size_t largest = 0;
    Status s;
    {
      testing::AllocProbe probe;
      s = d.Decompress(bomb_unknown_size, 4096, 16 * kMiB, &out);
      largest = probe.largest();
    }
    CHECK_FALSE(s.ok());
    CHECK(out.capacity() < 16 * kMiB);
    CHECK_MESSAGE(largest < 16 * kMiB, "largest allocation: ", largest);
  }
}

TEST_CASE("zstd: a frame without a content size still decompresses when the declared size is right") {
  const std::string in = Text(30000);
  const std::string packed = CompressWithoutContentSize(in);
  ZstdDecompressor d;
  std::string out;
  REQUIRE(d.Decompress(packed, in.size(), in.size(), &out).ok());
  CHECK(out == in);
  CHECK_FALSE(d.Decompress(packed, in.size() + 10, 1 * kMiB, &out).ok());  // frame ends early
}

TEST_CASE("zstd: garbage and truncated input fail cleanly") {
  ZstdDecompressor d;
  std::string out;
  CHECK_FALSE(d.Decompress("", 10, 100, &out).ok());
  CHECK_FALSE(d.Decompress("definitely not zstd at all", 10, 100, &out).ok());
  std::string junk(1000, '\0');
  for (size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>(i * 37 + 11);
  CHECK_FALSE(d.Decompress(junk, 1000, 10000, &out).ok());

  ZstdCompressor c(1);
  const std::string in = Text(20000);
  std::string packed;
  REQUIRE(c.Compress(in, &packed).ok());
  for (size_t cut : {size_t{4}, size_t{10}, packed.size() / 2, packed.size() - 1}) {
    CHECK_MESSAGE(!d.Decompress(std::string_view(packed).substr(0, cut), in.size(), in.size(), &out).ok(), "cut ", cut);
  }
  // Flipped bytes anywhere: an error or other bytes (zstd frames carry no checksum here), never a crash.
  for (size_t pos = 0; pos < packed.size(); pos += 7) {
    std::string damaged = packed;
    damaged[pos] = static_cast<char>(damaged[pos] ^ 0x5a);
    (void)d.Decompress(damaged, in.size(), in.size(), &out);
    CHECK(out.size() <= in.size());
  }
  // And the context still works afterwards.
  REQUIRE(d.Decompress(packed, in.size(), in.size(), &out).ok());
  CHECK(out == in);
}

}  // namespace
}  // namespace logship
