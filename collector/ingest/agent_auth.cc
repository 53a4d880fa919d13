#include "collector/ingest/agent_auth.h"

#include <openssl/crypto.h>

#include "common/file_util.h"

namespace logship::collector {

Result<AgentAuth> AgentAuth::Load(const std::vector<AgentToken>& tokens) {
  AgentAuth auth;
  for (const auto& t : tokens) {
    auto text = ReadWholeFile(t.token_file);
    if (!text.ok()) return Status::IoError("cannot read token_file " + t.token_file + " of agent " + t.agent);
    std::string token = *text;
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
    if (token.size() < 16)
      return Status::InvalidArgument("token_file " + t.token_file + " of agent " + t.agent +
                                     " holds fewer than 16 characters");
    auth.tokens_.emplace_back(std::move(token), t.agent);
  }
  return auth;
}

std::optional<std::string> AgentAuth::Authenticate(std::string_view authorization) const {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.substr(0, kBearer.size()) != kBearer) return std::nullopt;
  const std::string_view presented = authorization.substr(kBearer.size());
  std::optional<std::string> agent;
  for (const auto& [token, name] : tokens_) {
    // Compare every token fully, so timing says nothing about which prefix matched.
    if (token.size() == presented.size() && CRYPTO_memcmp(token.data(), presented.data(), token.size()) == 0)
      agent = name;
  }
  return agent;
}

}  // namespace logship::collector
