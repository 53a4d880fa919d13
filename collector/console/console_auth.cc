#include "collector/console/console_auth.h"

#include "common/file_util.h"

namespace logship::collector::console {

Result<ConsoleAuth> ConsoleAuth::Load(const std::string& token_file) {
  auto text = ReadWholeFile(token_file);
  if (!text.ok()) return Status::IoError("console.token_file: " + text.status().message());
  std::string token = text->substr(0, text->find('\n'));
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ' || token.back() == '\t')) token.pop_back();
  if (token.size() < 16) return Status::InvalidArgument("console.token_file " + token_file + ": the token must be at least 16 characters");
  return ConsoleAuth(std::move(token));
}

bool ConsoleAuth::Allows(const std::string& authorization) const {
  static const std::string kScheme = "Bearer ";
  if (authorization.size() != kScheme.size() + token_.size() || authorization.compare(0, kScheme.size(), kScheme) != 0)
    return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < token_.size(); ++i)
    diff |= static_cast<unsigned char>(authorization[kScheme.size() + i] ^ token_[i]);
  return diff == 0;
}

}  // namespace logship::collector::console
