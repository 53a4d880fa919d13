// Human units in configuration: sizes ("512", "64KiB", "1MiB", "1GiB") and durations
// ("200ms", "1s", "5m", "1h"). Pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace logship {

// Bytes; binary suffixes B, KiB, MiB, GiB, TiB (KB/MB/GB/TB are decimal). nullopt on
// malformed input or overflow.
std::optional<uint64_t> ParseSize(std::string_view text);

// Units ns, us, ms, s, m, h; a bare 0 is allowed. Fractions allowed ("1.5s").
std::optional<std::chrono::nanoseconds> ParseDuration(std::string_view text);

}  // namespace logship
