// Bearer tokens, one set of rules for every place that reads or checks one (the agent's
// collector.token_file, the collector's auth.tokens, the console's token_file):
// - a token file holds the token on its first line; trailing spaces, tabs and CR go;
// - a token is at least kMinTokenBytes long and has no space or control character;
// - a request carries it as "Authorization: Bearer <token>" (scheme case-insensitive);
// - comparison takes the same time whatever the bytes; tokens never reach a log line.
// Pure, thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace logship {

inline constexpr size_t kMinTokenBytes = 16;

// The token in `path`. `what` names the setting for messages ("collector.token_file").
Result<std::string> ReadTokenFile(const std::string& path, std::string_view what);
// The token of an "Authorization" value, or nullopt when it is not "Bearer <token>".
std::optional<std::string_view> BearerToken(std::string_view authorization);
// Constant-time equality (in the length of `expected`).
bool TokenEquals(std::string_view expected, std::string_view presented);
// A new random token: 32 bytes from the kernel, as 64 hex digits ("" if none could be had).
std::string NewToken();
// Writes NewToken() to `path`, mode 0640, unless the file exists already (then it is left as
// it is: Ok).
Status WriteNewTokenFile(const std::string& path);

}  // namespace logship
