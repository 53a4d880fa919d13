#include "common/utf8.h"

#include <cstdint>
#include <cstring>

namespace logship {
namespace {

// Length of the valid sequence starting at s[i], or 0 if the byte there starts none.
size_t SequenceLength(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t c = b(i);
  const size_t left = s.size() - i;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return left >= 2 && (b(i + 1) & 0xC0) == 0x80 ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (left < 3 || (b(i + 1) & 0xC0) != 0x80 || (b(i + 2) & 0xC0) != 0x80) return 0;
    if (c == 0xE0 && b(i + 1) < 0xA0) return 0;  // overlong
    if (c == 0xED && b(i + 1) > 0x9F) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (left < 4 || (b(i + 1) & 0xC0) != 0x80 || (b(i + 2) & 0xC0) != 0x80 || (b(i + 3) & 0xC0) != 0x80) return 0;
    if (c == 0xF0 && b(i + 1) < 0x90) return 0;  // overlong
    if (c == 0xF4 && b(i + 1) > 0x8F) return 0;  // > U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

size_t ValidUtf8Prefix(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    // ASCII fast path, 8 bytes at a time.
    while (i + 8 <= s.size()) {
      uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= s.size()) break;
    const size_t n = SequenceLength(s, i);
    if (n == 0) return i;
    i += n;
  }
  return i;
}

bool AppendEscapedUtf8(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  bool escaped = false;
  size_t i = 0;
  while (i < s.size()) {
    const size_t run = ValidUtf8Prefix(s.substr(i));
    // Within a valid run only NUL needs escaping.
    const std::string_view valid = s.substr(i, run);
    size_t start = 0;
    for (size_t z = valid.find('\0'); z != std::string_view::npos; z = valid.find('\0', start)) {
      out->append(valid.substr(start, z - start)).append("\\x00");
      escaped = true;
      start = z + 1;
    }
    out->append(valid.substr(start));
    i += run;
    if (i < s.size()) {
      const auto c = static_cast<uint8_t>(s[i]);
      out->append("\\x").push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 0xf]);
      escaped = true;
      ++i;
    }
  }
  return escaped;
}

}  // namespace logship
