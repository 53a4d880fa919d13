#include "agent/spool/frame_codec.h"

#include <cstring>

#include "agent/spool/frame_format.h"
#include "common/crc32c.h"

namespace logship::spool {
namespace {

template <typename T>
void Put(char* p, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) p[i] = static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff);
}

template <typename T>
T Get(const char* p) {
  uint64_t v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return static_cast<T>(v);
}

}  // namespace

uint64_t FrameHeader::total_size() const {
  return kFrameHeaderSize + static_cast<uint64_t>(payload_length) + meta_length;
}

void EncodeFrame(const FrameHeader& h, std::string_view payload, std::string_view meta, std::string* out) {
  const size_t start = out->size();
  out->resize(start + kFrameHeaderSize);
  char* p = out->data() + start;
  std::memset(p, 0, kFrameHeaderSize);
  Put<uint32_t>(p + 0, kFrameMagic);
  Put<uint64_t>(p + 8, h.sequence);
  Put<uint32_t>(p + 16, static_cast<uint32_t>(payload.size()));
  Put<uint32_t>(p + 20, static_cast<uint32_t>(meta.size()));
  Put<uint32_t>(p + 24, h.record_count);
  Put<uint32_t>(p + 28, h.uncompressed_bytes);
  p[32] = static_cast<char>(h.codec);
  out->append(payload);
  out->append(meta);
  const std::string_view covered(out->data() + start + kCrcCoverageStart,
                                 out->size() - start - kCrcCoverageStart);
  Put<uint32_t>(out->data() + start + 4, Crc32c(covered.data(), covered.size()));
}

HeaderCheck DecodeFrameHeader(std::string_view bytes, FrameHeader* h) {
  if (bytes.size() < kFrameHeaderSize) return HeaderCheck::kTooShort;
  const char* p = bytes.data();
  if (Get<uint32_t>(p) != kFrameMagic) return HeaderCheck::kBadMagic;
  h->sequence = Get<uint64_t>(p + 8);
  h->payload_length = Get<uint32_t>(p + 16);
  h->meta_length = Get<uint32_t>(p + 20);
  h->record_count = Get<uint32_t>(p + 24);
  h->uncompressed_bytes = Get<uint32_t>(p + 28);
  h->codec = static_cast<uint8_t>(p[32]);
  if (h->payload_length > kMaxPayloadLength || h->meta_length > kMaxMetaLength || h->sequence == 0)
    return HeaderCheck::kBadLength;
  return HeaderCheck::kOk;
}

bool FrameChecksumMatches(std::string_view frame) {
  if (frame.size() < kFrameHeaderSize) return false;
  const uint32_t stored = Get<uint32_t>(frame.data() + 4);
  return stored == Crc32c(frame.data() + kCrcCoverageStart, frame.size() - kCrcCoverageStart);
}

}  // namespace logship::spool
