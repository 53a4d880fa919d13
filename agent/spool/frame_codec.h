// Encoding and decoding of one spool frame (see FORMAT.md). Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace logship::spool {

struct FrameHeader {
  uint64_t sequence = 0;
  uint32_t payload_length = 0;
  uint32_t meta_length = 0;
  uint32_t record_count = 0;
  uint32_t uncompressed_bytes = 0;
  uint8_t codec = 0;

  uint64_t total_size() const;  // header + payload + meta
};

// Appends the encoded frame to *out. REQUIRES: sizes within the limits in frame_format.h.
void EncodeFrame(const FrameHeader& header, std::string_view payload, std::string_view meta, std::string* out);

enum class HeaderCheck { kOk, kTooShort, kBadMagic, kBadLength };
// Parses the fixed header at the start of `bytes` (checks magic and length limits only).
HeaderCheck DecodeFrameHeader(std::string_view bytes, FrameHeader* header);

// True when `frame` (header + payload + meta, exactly total_size() bytes) carries a matching CRC.
bool FrameChecksumMatches(std::string_view frame);

}  // namespace logship::spool
