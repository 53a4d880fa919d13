// Who is sending: maps bearer tokens (read from files at start-up, common/bearer_token.h) to
// agent ids; the agent "*" marks a fleet token, good for any agent id. With no tokens
// configured every caller is accepted. Immutable after construction; thread-safe. Token
// values never appear in messages or logs.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collector/server/server_config.h"
#include "common/status.h"

namespace logship::collector {

class AgentAuth {
 public:
  // Reads every token file; an unreadable or empty one is an error naming the file.
  static Result<AgentAuth> Load(const std::vector<AgentToken>& tokens);

  bool required() const { return !tokens_.empty(); }
  // The agent the `authorization` metadata value ("Bearer <token>") belongs to ("*" for a
  // fleet token); nullopt when it is missing or matches no token. Constant time in the
  // token's contents.
  std::optional<std::string> Authenticate(std::string_view authorization) const;

 private:
  std::vector<std::pair<std::string, std::string>> tokens_;  // (token, agent)
};

}  // namespace logship::collector
