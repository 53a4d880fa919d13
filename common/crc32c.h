// CRC32C (Castagnoli), the checksum of spool frames. Backed by ISA-L, which picks the
// SSE4.2/PCLMUL path at run time. Pure function; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

namespace logship {

// CRC32C of data[0, n), continuing from `crc` (pass 0 to start). Extend(Extend(0,a),b) == crc(a+b).
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t n);
inline uint32_t Crc32c(const void* data, size_t n) { return Crc32cExtend(0, data, n); }

}  // namespace logship
