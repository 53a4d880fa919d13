#include "agent/spool/frame_codec.h"

#include <doctest/doctest.h>

#include <cstring>

#include "agent/spool/frame_format.h"
#include "common/crc32c.h"

namespace logship::spool {
namespace {

FrameHeader SampleHeader() {
  FrameHeader h;
  h.sequence = 0x0102030405060708ULL;
  h.record_count = 2000;
  h.uncompressed_bytes = 183000;
  h.codec = 2;
  return h;
}

std::string Encode(const FrameHeader& h, std::string_view payload, std::string_view meta) {
  std::string out;
  EncodeFrame(h, payload, meta, &out);
  return out;
}

uint32_t U32At(const std::string& s, size_t off) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(s[off + static_cast<size_t>(i)]);
  return v;
}

TEST_CASE("frame codec: encode then decode returns the header, payload and meta") {
  const std::string payload = "compressed-batch-bytes";
  const std::string meta = "checkpoint-delta";
  const std::string frame = Encode(SampleHeader(), payload, meta);
  REQUIRE(frame.size() == kFrameHeaderSize + payload.size() + meta.size());

  FrameHeader h;
  REQUIRE(DecodeFrameHeader(frame, &h) == HeaderCheck::kOk);
  CHECK(h.sequence == 0x0102030405060708ULL);
  CHECK(h.payload_length == payload.size());
  CHECK(h.meta_length == meta.size());
  CHECK(h.record_count == 2000u);
  CHECK(h.uncompressed_bytes == 183000u);
  CHECK(h.codec == 2);
  CHECK(h.total_size() == frame.size());
  CHECK(FrameChecksumMatches(frame));
  CHECK(frame.substr(kFrameHeaderSize, payload.size()) == payload);
  CHECK(frame.substr(kFrameHeaderSize + payload.size()) == meta);
}

TEST_CASE("frame codec: the header layout is the one FORMAT.md documents") {
  const std::string frame = Encode(SampleHeader(), "PAY", "ME");
  CHECK(frame.substr(0, 4) == "LSPF");
  CHECK(U32At(frame, 0) == kFrameMagic);
  CHECK(U32At(frame, 8) == 0x05060708u);   // sequence, little endian
  CHECK(U32At(frame, 12) == 0x01020304u);
  CHECK(U32At(frame, 16) == 3u);           // payload_length
  CHECK(U32At(frame, 20) == 2u);           // meta_length
  CHECK(U32At(frame, 24) == 2000u);        // record_count
  CHECK(U32At(frame, 28) == 183000u);      // uncompressed_bytes
  CHECK(static_cast<uint8_t>(frame[32]) == 2);
  for (size_t i = 33; i < 40; ++i) CHECK(frame[i] == '\0');  // reserved
  // CRC32C of bytes [8, end).
  CHECK(U32At(frame, 4) == Crc32c(frame.data() + 8, frame.size() - 8));
}

TEST_CASE("frame codec: EncodeFrame appends, so frames can be laid out back to back") {
  std::string buf = "xyz";
  EncodeFrame(SampleHeader(), "a", "", &buf);
  FrameHeader h2 = SampleHeader();
  h2.sequence = 9;
  EncodeFrame(h2, "bb", "m", &buf);
  CHECK(buf.substr(0, 3) == "xyz");
  std::string_view rest(buf);
  rest.remove_prefix(3);
  FrameHeader h;
  REQUIRE(DecodeFrameHeader(rest, &h) == HeaderCheck::kOk);
  CHECK(FrameChecksumMatches(rest.substr(0, h.total_size())));
  rest.remove_prefix(h.total_size());
  REQUIRE(DecodeFrameHeader(rest, &h) == HeaderCheck::kOk);
  CHECK(h.sequence == 9u);
  CHECK(rest.size() == h.total_size());
  CHECK(FrameChecksumMatches(rest));
}

TEST_CASE("frame codec: an empty payload and meta still make a valid frame") {
  const std::string frame = Encode(SampleHeader(), "", "");
  FrameHeader h;
  REQUIRE(DecodeFrameHeader(frame, &h) == HeaderCheck::kOk);
  CHECK(h.total_size() == kFrameHeaderSize);
  CHECK(FrameChecksumMatches(frame));
}

// What a reader does: header check, then the checksum over exactly total_size() bytes.
bool Accepted(const std::string& bytes) {
  FrameHeader h;
  if (DecodeFrameHeader(bytes, &h) != HeaderCheck::kOk) return false;
  if (h.total_size() > bytes.size()) return false;
  return FrameChecksumMatches(std::string_view(bytes).substr(0, h.total_size()));
}

TEST_CASE("frame codec: flipping any single byte of a frame is detected") {
  const std::string frame = Encode(SampleHeader(), "payload bytes here", "meta!");
  REQUIRE(Accepted(frame));
  for (size_t pos = 0; pos < frame.size(); ++pos) {
    for (uint8_t mask : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xFF}}) {
      std::string bad = frame;
      bad[pos] = static_cast<char>(bad[pos] ^ mask);
      CHECK_MESSAGE(!Accepted(bad), "byte ", pos, " mask ", int{mask});
      // The checksum alone also catches it over the original extent.
      if (pos >= 4) CHECK_MESSAGE(!FrameChecksumMatches(bad), "byte ", pos);
    }
  }
}

TEST_CASE("frame codec: input shorter than a header is too short") {
  const std::string frame = Encode(SampleHeader(), "p", "m");
  FrameHeader h;
  CHECK(DecodeFrameHeader("", &h) == HeaderCheck::kTooShort);
  CHECK(DecodeFrameHeader(std::string_view(frame).substr(0, kFrameHeaderSize - 1), &h) == HeaderCheck::kTooShort);
  CHECK(DecodeFrameHeader(std::string_view(frame).substr(0, kFrameHeaderSize), &h) == HeaderCheck::kOk);
  CHECK_FALSE(FrameChecksumMatches(std::string_view(frame).substr(0, 10)));
  CHECK_FALSE(FrameChecksumMatches(std::string_view(frame).substr(0, frame.size() - 1)));  // truncated frame
}

TEST_CASE("frame codec: a bad magic is reported as such") {
  std::string frame = Encode(SampleHeader(), "p", "m");
  frame[1] = 'X';
  FrameHeader h;
  CHECK(DecodeFrameHeader(frame, &h) == HeaderCheck::kBadMagic);
  std::string zeros(64, '\0');
  CHECK(DecodeFrameHeader(zeros, &h) == HeaderCheck::kBadMagic);
}

void PutU32(std::string& s, size_t off, uint32_t v) {
  for (int i = 0; i < 4; ++i) s[off + static_cast<size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
}

TEST_CASE("frame codec: absurd lengths and a zero sequence are rejected by the header check") {
  const std::string frame = Encode(SampleHeader(), "p", "m");
  FrameHeader h;
  {
    std::string bad = frame;
    PutU32(bad, 16, kMaxPayloadLength + 1);
    CHECK(DecodeFrameHeader(bad, &h) == HeaderCheck::kBadLength);
    PutU32(bad, 16, 0xFFFFFFFFu);
    CHECK(DecodeFrameHeader(bad, &h) == HeaderCheck::kBadLength);
  }
  {
    std::string bad = frame;
    PutU32(bad, 20, kMaxMetaLength + 1);
    CHECK(DecodeFrameHeader(bad, &h) == HeaderCheck::kBadLength);
  }
  {
    std::string ok = frame;
    PutU32(ok, 16, kMaxPayloadLength);  // the limit itself is allowed by the header check
    CHECK(DecodeFrameHeader(ok, &h) == HeaderCheck::kOk);
  }
  {
    FrameHeader zero = SampleHeader();
    zero.sequence = 0;
    CHECK(DecodeFrameHeader(Encode(zero, "p", "m"), &h) == HeaderCheck::kBadLength);
  }
}

}  // namespace
}  // namespace logship::spool
