// What to do after a PostgreSQL error, by SQLSTATE. Pure.
#pragma once

#include <string_view>

namespace logship::collector::postgres {

// Every SQLSTATE class (PostgreSQL 15, Appendix A) falls in one of these.
enum class PgErrorAction {
  kDuplicate,   // 23505: some rows exist already; write through the conflict-safe path
  kReconnect,   // the connection is gone (08, 57P01-57P05, none at all): reconnect, retry later
  kBadRow,      // a row that no retry can make acceptable: data exception (22), integrity (23
                // but 23505), cardinality (21), a program limit such as an index row too large
                // (54), a routine or trigger refusing it (2F, 38, 39, P0): the row goes to the
                // dead letter, its neighbours are stored
  kRetry,       // the server, not the row (resources 53, lock or serialization 40/55, privilege
                // or missing table 42, 25, 57014, 58, XX…): keep the batch and retry; a row that
                // keeps failing while others are stored is dead-lettered after give_up_after
};

PgErrorAction ClassifySqlState(std::string_view sqlstate);

}  // namespace logship::collector::postgres
