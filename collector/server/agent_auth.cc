#include "collector/server/agent_auth.h"

#include "common/bearer_token.h"

namespace logship::collector {

Result<AgentAuth> AgentAuth::Load(const std::vector<AgentToken>& tokens) {
  AgentAuth auth;
  for (const auto& t : tokens) {
    auto token = ReadTokenFile(t.token_file, "the token_file of agent \"" + t.agent + "\"");
    if (!token.ok()) return token.status();
    auth.tokens_.emplace_back(std::move(token).value(), t.agent);
  }
  return auth;
}

std::optional<std::string> AgentAuth::Authenticate(std::string_view authorization) const {
  const auto presented = BearerToken(authorization);
  if (!presented) return std::nullopt;
  std::optional<std::string> agent;
  for (const auto& [token, name] : tokens_) {
    // Compare every token fully, so timing says nothing about which one matched.
    if (TokenEquals(token, *presented)) agent = name;
  }
  return agent;
}

}  // namespace logship::collector
