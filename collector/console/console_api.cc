#include "collector/console/console_api.h"

#include <chrono>
#include <memory>
#include <optional>

#include "collector/console/json.h"
#include "collector/console/search_params.h"
#include "collector/console/tail_stream.h"
#include "common/utf8.h"

namespace logship::collector::console {
namespace {
// "text" -> "\"text\"" without `"\"" + std::string&&`, which GCC 12 at -O3 mistakes for an
// overlapping memcpy (-Wrestrict, a known false positive) and -Werror turns into an error.
std::string Quoted(const std::string& text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('"');
  out.append(text);
  out.push_back('"');
  return out;
}

constexpr int kCorrelationLimit = 1000;
constexpr const char* kJson = "application/json; charset=utf-8";

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

http::Response Json(std::string body) {
  http::Response r(200, kJson, std::move(body));
  r.headers = {{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}};
  return r;
}

// A failed query: 503, with the reason (the SQLSTATE 57014 one in words).
http::Response QueryFailed(const Status& s) {
  if (s.message().rfind("57014", 0) == 0) return JsonError(503, "the query took longer than console.statement_timeout; narrow the time range or add filters");
  if (s.code() == Status::Code::kResourceExhausted) return JsonError(429, s.message());
  return JsonError(503, s.message());
}

std::string Ms(std::chrono::steady_clock::time_point start) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f",
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  return buf;
}

}  // namespace

http::Response JsonError(int status, const std::string& message) {
  http::Response r(status, kJson, "{\"error\":" + JsonString(message) + "}\n");
  r.headers = {{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}};
  if (status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"logship\"");
  return r;
}

ConsoleApi::ConsoleApi(const ConsoleConfig& config, ConsoleAuth auth, LogReader& reader, ConsoleSources sources)
    : config_(config), auth_(std::move(auth)), reader_(reader), sources_(std::move(sources)) {}

http::Response ConsoleApi::Handle(const http::Request& request) {
  // Authentication comes first: nothing, not even "not found", without a valid token.
  if (!auth_.Allows(request.Header("authorization"))) return JsonError(401, "a valid bearer token is required");
  if (request.method != "GET") return JsonError(405, "only GET");
  const std::string& p = request.path;
  if (p == "/api/v1/agents") return Agents();
  if (p == "/api/v1/search") return Search(request);
  if (p == "/api/v1/volume") return Volume(request);
  if (p == "/api/v1/tail") return Tail(request);
  static const std::string kCorrelation = "/api/v1/correlation/";
  if (p.rfind(kCorrelation, 0) == 0) return Correlation(p.substr(kCorrelation.size()));
  return JsonError(404, "no such endpoint");
}

http::Response ConsoleApi::Agents() const {
  const int64_t now_ms = NowMicros() / 1000;
  std::string out = "{\"now\":\"" + FormatTimestamp(now_ms * 1000) + "\",\"agents\":[";
  bool first = true;
  for (const AgentInfo& a : sources_.agents->Snapshot()) {
    if (!first) out += ",";
    first = false;
    char rates[96];
    std::snprintf(rates, sizeof rates, "\"records_per_second\":%.3f,\"bytes_per_second\":%.1f", a.records_per_second,
                  a.bytes_per_second);
    out += "{\"id\":" + JsonString(a.id) + ",\"host\":" + JsonString(a.host) + ",\"version\":" + JsonString(a.version) +
           ",\"peer\":" + JsonString(a.peer) + ",\"connected\":" + (a.streams > 0 ? "true" : "false") +
           ",\"streams\":" + std::to_string(a.streams) + ",\"first_seen\":\"" +
           FormatTimestamp(a.first_seen_ms * 1000) + "\",\"last_batch\":" +
           (a.last_batch_ms > 0 ? Quoted(FormatTimestamp(a.last_batch_ms * 1000)) : std::string("null")) +
           ",\"records_total\":" + std::to_string(a.records_total) +
           ",\"bytes_total\":" + std::to_string(a.bytes_total) + "," + rates + ",\"spool_bytes\":null}";
  }
  out += "],\"sinks\":[";
  first = true;
  for (const SinkStatus& s : sources_.sinks ? sources_.sinks() : std::vector<SinkStatus>{}) {
    if (!first) out += ",";
    first = false;
    char lag[64];
    std::snprintf(lag, sizeof lag, "%.3f", s.lag_seconds_avg);
    out += "{\"name\":" + JsonString(s.name) + ",\"records_total\":" + std::to_string(s.records_total) +
           ",\"errors_total\":" + std::to_string(s.errors_total) + ",\"lag_seconds_avg\":" + lag + "}";
  }
  const bool healthy = sources_.healthy ? sources_.healthy() : true;
  out += "],\"healthy\":" + std::string(healthy ? "true" : "false") +
         ",\"health_reason\":" + JsonString(healthy || !sources_.health_reason ? "" : sources_.health_reason()) + "}\n";
  return Json(std::move(out));
}

http::Response ConsoleApi::Search(const http::Request& request) {
  auto params = ParseSearchParams(request, NowMicros());
  if (!params.ok()) return JsonError(400, params.status().message());
  const auto start = std::chrono::steady_clock::now();
  auto result = reader_.Search(params->filter, params->cursor, params->limit);
  if (!result.ok()) return QueryFailed(result.status());
  const auto& records = *result;
  const size_t rows = std::min(records.size(), static_cast<size_t>(params->limit));
  std::string out = "{\"records\":[";
  for (size_t i = 0; i < rows; ++i) {
    if (i > 0) out += ",";
    out += RecordJson(records[i]);
  }
  out += "],\"next_cursor\":";
  if (records.size() > rows && rows > 0)
    out += JsonString(EncodeCursor(Cursor{records[rows - 1].ts_us, records[rows - 1].id}));
  else
    out += "null";
  out += ",\"query_ms\":" + Ms(start) + "}\n";
  return Json(std::move(out));
}

http::Response ConsoleApi::Correlation(const std::string& id) {
  if (id.empty() || id.size() > 256 || id.find('\0') != std::string::npos || ValidUtf8Prefix(id) != id.size())
    return JsonError(400, "the id must be 1 to 256 bytes of UTF-8");
  const auto start = std::chrono::steady_clock::now();
  auto result = reader_.Correlation(id, kCorrelationLimit);
  if (!result.ok()) return QueryFailed(result.status());
  const auto& records = *result;
  const size_t rows = std::min(records.size(), static_cast<size_t>(kCorrelationLimit));
  std::string out = "{\"id\":" + JsonString(id) + ",\"records\":[";
  for (size_t i = 0; i < rows; ++i) {
    if (i > 0) out += ",";
    out += RecordJson(records[i]);
  }
  out += "],\"truncated\":" + std::string(records.size() > rows ? "true" : "false") +
         ",\"query_ms\":" + Ms(start) + "}\n";
  return Json(std::move(out));
}

http::Response ConsoleApi::Volume(const http::Request& request) {
  auto params = ParseSearchParams(request, NowMicros());
  if (!params.ok()) return JsonError(400, params.status().message());
  const auto start = std::chrono::steady_clock::now();
  auto result = reader_.Volume(params->filter, params->step_seconds);
  if (!result.ok()) return QueryFailed(result.status());
  std::string out = "{\"from\":\"" + FormatTimestamp(params->filter.from_us) + "\",\"to\":\"" +
                    FormatTimestamp(params->filter.to_us) + "\",\"step\":" + std::to_string(params->step_seconds) +
                    ",\"buckets\":[";
  // Buckets come ordered by start, one entry per severity class: one object per bucket.
  std::optional<int64_t> current;
  for (const VolumeBucket& b : *result) {
    if (b.start_s != current) {
      if (current) out += "}},";
      current = b.start_s;
      out += "{\"t\":" + std::to_string(b.start_s) + ",\"ts\":\"" + FormatTimestamp(b.start_s * 1000000) +
             "\",\"counts\":{";
    } else {
      out += ",";
    }
    out += Quoted(b.severity_class);
    out += ':';
    out += std::to_string(b.count);
  }
  if (current) out += "}}";
  out += "],\"query_ms\":" + Ms(start) + "}\n";
  return Json(std::move(out));
}

http::Response ConsoleApi::Tail(const http::Request& request) {
  auto params = ParseSearchParams(request, NowMicros());
  if (!params.ok()) return JsonError(400, params.status().message());
  if (tails_.fetch_add(1) >= static_cast<int>(config_.max_tail_streams)) {
    --tails_;
    return JsonError(429, "too many live tails open (console.max_tail_streams)");
  }
  auto stream = std::make_shared<TailStream>(reader_, params->filter, static_cast<int>(config_.tail_lines_per_second),
                                             tails_);
  http::Response r(200, "text/event-stream; charset=utf-8", "");
  r.headers = {{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}, {"X-Accel-Buffering", "no"}};
  r.stream = [stream](char* buf, size_t max, const std::atomic<bool>& stop) { return stream->Read(buf, max, stop); };
  return r;
}

}  // namespace logship::collector::console
