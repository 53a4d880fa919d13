#include "collector/sinks/postgres/retry.h"

namespace logship::collector::postgres {

PgErrorAction ClassifySqlState(std::string_view s) {
  if (s == "23505") return PgErrorAction::kDuplicate;
  if (s.empty() || s.substr(0, 2) == "08" || s.substr(0, 3) == "57P") return PgErrorAction::kReconnect;
  if (s.size() != 5) return PgErrorAction::kRetry;
  const std::string_view cls = s.substr(0, 2);
  for (std::string_view row : {"21", "22", "23", "2F", "38", "39", "54", "P0"})
    if (cls == row) return PgErrorAction::kBadRow;
  return PgErrorAction::kRetry;
}

}  // namespace logship::collector::postgres
