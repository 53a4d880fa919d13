#include "collector/sinks/postgres/pg_queries.h"

#include <cctype>
#include <charconv>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "common/json_text.h"

namespace logship::collector::postgres {
namespace {

constexpr const char* kRecordColumns =
    "id::text, (extract(epoch FROM ts) * 1000000)::bigint, host, agent_id, source, severity, body, "
    "attributes::text, coalesce(trace_id, ''), coalesce(correlation_id, '')";

// An exact timestamptz from a parameter holding Unix microseconds.
std::string Micros(int n) {
  return "('epoch'::timestamptz + $" + std::to_string(n) + "::bigint * interval '1 microsecond')";
}

std::string Table(const std::string& table) { return "\"" + table + "\""; }

// Appends the WHERE conditions of `f` (without the time range) to where/params.
void AddFilters(const SearchFilter& f, std::string* where, std::vector<std::string>* params) {
  auto add = [&](const std::string& condition_prefix, const std::string& value, const std::string& suffix = "") {
    params->push_back(value);
    *where += " AND " + condition_prefix + "$" + std::to_string(params->size()) + suffix;
  };
  if (!f.host.empty()) add("host = ", f.host);
  if (!f.source.empty()) add("source = ", f.source);
  if (!f.agent.empty()) add("agent_id = ", f.agent);
  if (f.min_severity > 0) add("severity >= ", std::to_string(f.min_severity), "::smallint");
  if (!f.text.empty()) add("body ILIKE ", "%" + EscapeLike(f.text) + "%");
  if (!f.attributes.empty()) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    std::string scratch;
    w.StartObject();
    for (const auto& [key, value] : f.attributes) {
      WriteJsonText(w, key, &scratch);
      WriteJsonText(w, value, &scratch);
    }
    w.EndObject();
    add("attributes @> ", std::string(buf.GetString(), buf.GetSize()), "::jsonb");
  }
}

}  // namespace

SqlQuery BuildSearch(const std::string& table, const SearchFilter& f, const std::optional<Cursor>& after, int limit) {
  SqlQuery q;
  q.params = {std::to_string(f.from_us), std::to_string(f.to_us)};
  std::string where = "ts >= " + Micros(1) + " AND ts < " + Micros(2);
  AddFilters(f, &where, &q.params);
  if (after) {
    q.params.push_back(std::to_string(after->ts_us));
    const std::string ts = Micros(static_cast<int>(q.params.size()));
    q.params.push_back(after->id);
    where += " AND (ts, id) < (" + ts + ", $" + std::to_string(q.params.size()) + "::uuid)";
  }
  q.params.push_back(std::to_string(limit + 1));
  q.sql = std::string("SELECT ") + kRecordColumns + " FROM " + Table(table) + " WHERE " + where +
          " ORDER BY ts DESC, id DESC LIMIT $" + std::to_string(q.params.size()) + "::int";
  return q;
}

SqlQuery BuildCorrelation(const std::string& table, const std::string& id, int limit) {
  SqlQuery q;
  q.params = {id, std::to_string(limit)};
  q.sql = std::string("SELECT ") + kRecordColumns + " FROM " + Table(table) +
          " WHERE trace_id = $1 OR correlation_id = $1 ORDER BY ts, id LIMIT $2::int";
  return q;
}

SqlQuery BuildVolume(const std::string& table, const SearchFilter& f, int64_t step_seconds) {
  SqlQuery q;
  q.params = {std::to_string(f.from_us), std::to_string(f.to_us)};
  std::string where = "ts >= " + Micros(1) + " AND ts < " + Micros(2);
  AddFilters(f, &where, &q.params);
  q.params.push_back(std::to_string(step_seconds));
  const std::string step = "$" + std::to_string(q.params.size()) + "::bigint";
  q.sql = "SELECT (floor(extract(epoch FROM ts) / " + step + ") * " + step +
          ")::bigint AS bucket, CASE WHEN severity = 0 THEN 'unknown' WHEN severity < 5 THEN 'trace' "
          "WHEN severity < 9 THEN 'debug' WHEN severity < 13 THEN 'info' WHEN severity < 17 THEN 'warn' "
          "WHEN severity < 21 THEN 'error' ELSE 'fatal' END AS class, count(*) FROM " +
          Table(table) + " WHERE " + where + " GROUP BY 1, 2 ORDER BY 1, 2";
  return q;
}

SqlQuery BuildTail(const std::string& table, const SearchFilter& f, int64_t since_us, int limit) {
  SqlQuery q;
  q.params = {std::to_string(since_us)};
  // The upper bound keeps future-dated rows (a fast clock, a misparsed year) from filling
  // every poll's LIMIT and hiding the new lines; they still show in search.
  std::string where = "ts >= " + Micros(1) + " AND ts <= now() + interval '1 minute'";
  AddFilters(f, &where, &q.params);
  q.params.push_back(std::to_string(limit));
  q.sql = std::string("SELECT ") + kRecordColumns + " FROM " + Table(table) + " WHERE " + where +
          " ORDER BY ts DESC, id DESC LIMIT $" + std::to_string(q.params.size()) + "::int";
  return q;
}

std::string EscapeLike(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\' || c == '%' || c == '_') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

}  // namespace logship::collector::postgres
