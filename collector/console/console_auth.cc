#include "collector/console/console_auth.h"

#include "common/bearer_token.h"

namespace logship::collector::console {

Result<ConsoleAuth> ConsoleAuth::Load(const std::string& token_file) {
  auto token = ReadTokenFile(token_file, "console.token_file");
  if (!token.ok()) return token.status();
  return ConsoleAuth(std::move(token).value());
}

bool ConsoleAuth::Allows(const std::string& authorization) const {
  const auto presented = BearerToken(authorization);
  return presented && TokenEquals(token_, *presented);
}

}  // namespace logship::collector::console
