// UTF-8 repair for text sinks: bodies are bytes and may hold anything, but PostgreSQL text
// and JSON need valid UTF-8 without NUL. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace logship {

// Length of the valid UTF-8 prefix of `s` (RFC 3629: no overlongs, surrogates or > U+10FFFF).
size_t ValidUtf8Prefix(std::string_view s);

// Appends `s` to *out, replacing every byte that is not part of valid UTF-8, and every NUL,
// by the four characters \xNN (NN = the byte in lower-case hex). Returns true when
// something was escaped. Nothing is dropped: the original bytes can be recovered.
bool AppendEscapedUtf8(std::string_view s, std::string* out);

}  // namespace logship
