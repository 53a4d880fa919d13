// Spool on-disk constants. The format is documented in FORMAT.md beside this file; change
// both together and bump kSegmentVersion.
#pragma once

#include <cstddef>
#include <cstdint>

namespace logship::spool {

inline constexpr char kSegmentMagic[8] = {'L', 'S', 'H', 'P', 'S', 'E', 'G', '1'};
inline constexpr uint32_t kSegmentVersion = 1;
inline constexpr size_t kSegmentHeaderSize = 16;

inline constexpr uint32_t kFrameMagic = 0x4650534c;  // "LSPF" little endian
inline constexpr size_t kFrameHeaderSize = 40;
inline constexpr size_t kCrcCoverageStart = 8;       // CRC covers [8, end of meta)
inline constexpr uint32_t kMaxPayloadLength = 64u << 20;
inline constexpr uint32_t kMaxMetaLength = 16u << 20;

inline constexpr const char* kSegmentSuffix = ".seg";
inline constexpr const char* kAckedFile = "acked";

}  // namespace logship::spool
