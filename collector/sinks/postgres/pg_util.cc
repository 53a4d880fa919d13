#include "collector/sinks/postgres/pg_util.h"

namespace logship::collector::postgres {

std::string ErrorOf(PGconn* c, PGresult* r) {
  std::string m = r != nullptr ? PQresultErrorMessage(r) : PQerrorMessage(c);
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m.empty() ? "unknown error" : m;
}

std::string SqlState(PGresult* r) {
  const char* s = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  return s != nullptr ? s : "";
}

Status Exec(PGconn* c, const std::string& sql) {
  PgResult r(PQexec(c, sql.c_str()));
  const auto st = PQresultStatus(r.get());
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return Status::Ok();
  return Status::Unavailable(SqlState(r.get()) + ": " + ErrorOf(c, r.get()));
}

std::string StateOf(const Status& s) { return s.message().substr(0, s.message().find(':')); }

}  // namespace logship::collector::postgres
