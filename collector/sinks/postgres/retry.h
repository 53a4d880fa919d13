// What to do after a PostgreSQL error, by SQLSTATE. Pure.
#pragma once

#include <string_view>

namespace logship::collector::postgres {

enum class PgErrorAction {
  kDuplicate,   // 23505: some rows exist already; write through the conflict-safe path
  kReconnect,   // connection-level (class 08, 57P01…): drop the connection, retry later
  kBadRow,      // data exception (22) or integrity violation (23, not 23505): some row is refused
  kRetry,       // anything else: keep the batch, retry later (never drop data on a guess)
};

PgErrorAction ClassifySqlState(std::string_view sqlstate);

}  // namespace logship::collector::postgres
