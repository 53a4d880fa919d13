#include "common/bearer_token.h"

#include <openssl/crypto.h>

#include <cerrno>

#include <fcntl.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include "common/file_util.h"

namespace logship {

Result<std::string> ReadTokenFile(const std::string& path, std::string_view what) {
  auto text = ReadWholeFile(path);
  if (!text.ok()) return Status::IoError("cannot read " + std::string(what) + " " + path + ": " + text.status().message());
  std::string token = text->substr(0, text->find('\n'));
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ' || token.back() == '\t')) token.pop_back();
  if (token.empty()) return Status::InvalidArgument(std::string(what) + " " + path + " is empty");
  if (token.size() < kMinTokenBytes)
    return Status::InvalidArgument(std::string(what) + " " + path + ": the token must be at least " +
                                   std::to_string(kMinTokenBytes) + " characters");
  for (unsigned char c : token)
    if (c <= ' ' || c == 0x7f)
      return Status::InvalidArgument(std::string(what) + " " + path + ": the token holds a space or control character");
  return token;
}

std::optional<std::string_view> BearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size() ||
      strncasecmp(authorization.data(), kScheme.data(), kScheme.size()) != 0)
    return std::nullopt;
  return authorization.substr(kScheme.size());
}

bool TokenEquals(std::string_view expected, std::string_view presented) {
  if (expected.size() != presented.size()) return false;
  return CRYPTO_memcmp(expected.data(), presented.data(), expected.size()) == 0;
}

std::string NewToken() {
  unsigned char random[32];
  if (::getrandom(random, sizeof random, 0) != static_cast<ssize_t>(sizeof random)) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  for (unsigned char c : random) {
    token.push_back(kHex[c >> 4]);
    token.push_back(kHex[c & 15]);
  }
  return token;
}

Status WriteNewTokenFile(const std::string& path) {
  std::string token = NewToken();
  if (token.empty()) return Status::FromErrno("getrandom", errno);
  token.push_back('\n');
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640));
  if (!fd.valid()) return errno == EEXIST ? Status::Ok() : Status::FromErrno("create " + path, errno);
  Status s = WriteAll(fd.get(), token);
  if (s.ok() && ::fsync(fd.get()) != 0) s = Status::FromErrno("fsync " + path, errno);
  if (!s.ok()) ::unlink(path.c_str());
  return s;
}

}  // namespace logship
