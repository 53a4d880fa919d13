#include "collector/console/query_builder.h"

#include <cctype>
#include <charconv>

#include "collector/console/json.h"

namespace logship::collector::console {
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
    std::string json = "{";
    for (size_t i = 0; i < f.attributes.size(); ++i) {
      if (i > 0) json += ",";
      AppendJsonString(&json, f.attributes[i].first);
      json += ":";
      AppendJsonString(&json, f.attributes[i].second);
    }
    json += "}";
    add("attributes @> ", json, "::jsonb");
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

int ParseSeverity(const std::string& text) {
  std::string t;
  for (char c : text) t.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (t.empty() || t == "any") return 0;
  if (t == "trace") return 1;
  if (t == "debug") return 5;
  if (t == "info") return 9;
  if (t == "warn" || t == "warning") return 13;
  if (t == "error") return 17;
  if (t == "fatal") return 21;
  int n = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
  if (ec != std::errc() || end != t.data() + t.size() || n < 0 || n > 24) return -1;
  return n;
}

const char* SeverityName(int s) {
  if (s <= 0) return "unknown";
  if (s < 5) return "trace";
  if (s < 9) return "debug";
  if (s < 13) return "info";
  if (s < 17) return "warn";
  if (s < 21) return "error";
  return "fatal";
}

std::string EncodeCursor(const Cursor& c) { return std::to_string(c.ts_us) + "_" + c.id; }

std::optional<Cursor> ParseCursor(const std::string& text) {
  const size_t sep = text.find('_');
  if (sep == std::string::npos || sep == 0) return std::nullopt;
  Cursor c;
  auto [end, ec] = std::from_chars(text.data(), text.data() + sep, c.ts_us);
  if (ec != std::errc() || end != text.data() + sep) return std::nullopt;
  c.id = text.substr(sep + 1);
  // A canonical uuid: 8-4-4-4-12 hex digits.
  if (c.id.size() != 36) return std::nullopt;
  for (size_t i = 0; i < c.id.size(); ++i) {
    const char ch = c.id[i];
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? ch != '-' : !std::isxdigit(static_cast<unsigned char>(ch))) return std::nullopt;
  }
  return c;
}

}  // namespace logship::collector::console
