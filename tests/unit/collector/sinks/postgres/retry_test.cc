#include "collector/sinks/postgres/retry.h"

#include <doctest/doctest.h>

namespace logship::collector::postgres {
namespace {

TEST_CASE("postgres retry: a unique violation takes the conflict-safe path") {
  CHECK(ClassifySqlState("23505") == PgErrorAction::kDuplicate);
}

TEST_CASE("postgres retry: connection-level errors reconnect") {
  for (const char* s : {"08000", "08003", "08006", "08001", "08004", "08P01", "57P01", "57P02", "57P03"}) {
    CHECK_MESSAGE(ClassifySqlState(s) == PgErrorAction::kReconnect, s);
  }
  // No SQLSTATE at all means the connection broke before the server answered.
  CHECK(ClassifySqlState("") == PgErrorAction::kReconnect);
}

TEST_CASE("postgres retry: a refused row (data exception, integrity violation) goes row by row to the dead letters") {
  for (const char* s : {"23502", "23503", "23514", "22001", "22P02", "22008", "54000", "54001", "21000", "P0001",
                        "2F005", "38001", "39P01"}) {
    CHECK_MESSAGE(ClassifySqlState(s) == PgErrorAction::kBadRow, s);
  }
}

TEST_CASE("postgres retry: everything else keeps the batch and retries, never drops") {
  for (const char* s : {"40001", "40P01", "53100", "53300", "42P01", "42501", "57014", "XX000", "25P02"}) {
    CHECK_MESSAGE(ClassifySqlState(s) == PgErrorAction::kRetry, s);
  }
}

TEST_CASE("postgres retry: only the exact code counts, not a look-alike") {
  CHECK(ClassifySqlState("2350") == PgErrorAction::kRetry);
  CHECK(ClassifySqlState("23505x") == PgErrorAction::kRetry);
}

}  // namespace
}  // namespace logship::collector::postgres
