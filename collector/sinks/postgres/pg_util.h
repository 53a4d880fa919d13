// Small libpq helpers shared by the PostgreSQL sink's parts. Thread-compatible.
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <string>

#include "common/status.h"

namespace logship::collector::postgres {

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

// The error text of a result (or of the connection when r is null), trimmed.
std::string ErrorOf(PGconn* c, PGresult* r);
// The SQLSTATE of a failed result; "" when none.
std::string SqlState(PGresult* r);
// Runs SQL (several statements allowed); the status message starts with "SQLSTATE: ".
Status Exec(PGconn* c, const std::string& sql);
// The SQLSTATE at the front of a status made by Exec.
std::string StateOf(const Status& s);
// Double-quoted identifier. REQUIRES: name is a plain identifier (validated in config).
inline std::string Quote(const std::string& name) { return "\"" + name + "\""; }

}  // namespace logship::collector::postgres
