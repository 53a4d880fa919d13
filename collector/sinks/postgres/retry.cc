#include "collector/sinks/postgres/retry.h"

namespace logship::collector::postgres {

PgErrorAction ClassifySqlState(std::string_view s) {
  if (s == "23505") return PgErrorAction::kDuplicate;
  if (s.empty() || s.substr(0, 2) == "08" || s.substr(0, 3) == "57P") return PgErrorAction::kReconnect;
  if (s.size() == 5 && (s.substr(0, 2) == "22" || s.substr(0, 2) == "23")) return PgErrorAction::kBadRow;
  return PgErrorAction::kRetry;
}

}  // namespace logship::collector::postgres
