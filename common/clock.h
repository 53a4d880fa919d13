#pragma once

#include <chrono>
#include <cstdint>

namespace logship {

// Wall-clock time in nanoseconds since the Unix epoch (record timestamps).
inline int64_t UnixNanosNow() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch()).count();
}

// Monotonic nanoseconds (timeouts and intervals; never a record timestamp).
inline int64_t MonotonicNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace logship
