#include "collector/console/tail_stream.h"

#include "common/http/http_server.h"

#include <algorithm>
#include <cstring>
#include <thread>

#include "collector/console/json.h"

namespace logship::collector::console {
namespace {

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// JSON text from PostgreSQL, made safe to embed like our own strings: <, > and & only
// occur inside JSON strings there, where a \u escape means the same.
void AppendRawJson(std::string* out, const char* json) {
  for (const char* p = json; *p != '\0'; ++p) {
    switch (*p) {
      case '<': out->append("\\u003c"); break;
      case '>': out->append("\\u003e"); break;
      case '&': out->append("\\u0026"); break;
      default: out->push_back(*p);
    }
  }
}

}  // namespace

std::string RecordJson(const PGresult* r, int row) {
  auto v = [&](int col) { return std::string_view(PQgetvalue(r, row, col), static_cast<size_t>(PQgetlength(r, row, col))); };
  const int64_t ts = std::strtoll(PQgetvalue(r, row, 1), nullptr, 10);
  const int severity = std::atoi(PQgetvalue(r, row, 5));
  std::string out = "{\"id\":";
  AppendJsonString(&out, v(0));
  out += ",\"ts\":\"" + FormatTimestamp(ts) + "\",\"ts_us\":" + std::to_string(ts) + ",\"host\":";
  AppendJsonString(&out, v(2));
  out += ",\"agent_id\":";
  AppendJsonString(&out, v(3));
  out += ",\"source\":";
  AppendJsonString(&out, v(4));
  out += ",\"severity\":" + std::to_string(severity) + ",\"level\":\"" + SeverityName(severity) + "\",\"body\":";
  AppendJsonString(&out, v(6));
  out += ",\"attributes\":";
  AppendRawJson(&out, PQgetvalue(r, row, 7));
  out += ",\"trace_id\":";
  AppendJsonString(&out, v(8));
  out += ",\"correlation_id\":";
  AppendJsonString(&out, v(9));
  out += "}";
  return out;
}

TailStream::TailStream(ReadPool& pool, std::string table, SearchFilter filter, int lines_per_second,
                       std::atomic<int>& slots)
    : pool_(pool),
      table_(std::move(table)),
      filter_(std::move(filter)),
      limit_(lines_per_second),
      slots_(slots),
      start_us_(NowMicros()),
      next_poll_(std::chrono::steady_clock::now()) {
  pending_ = "retry: 2000\n: logship live tail\n\n";  // sent at once, so the client sees the stream open
}

TailStream::~TailStream() { --slots_; }

size_t TailStream::Read(char* buf, size_t max, const std::atomic<bool>& stop) {
  if (stop.load()) return 0;
  if (offset_ == pending_.size()) {
    pending_.clear();
    offset_ = 0;
    // Not due yet: the server parks the connection, holding no thread meanwhile.
    if (std::chrono::steady_clock::now() < next_poll_) return http::kStreamWait;
    next_poll_ = std::chrono::steady_clock::now() + kPollInterval;
    Poll();
    if (pending_.empty()) pending_ = ":\n\n";  // keep-alive; also finds a closed connection
  }
  const size_t n = std::min(max, pending_.size() - offset_);
  std::memcpy(buf, pending_.data() + offset_, n);
  offset_ += n;
  return n;
}

void TailStream::Poll() {
  const int64_t now = NowMicros();
  const int64_t since = std::max(start_us_ - std::chrono::microseconds(kBacklog).count(),
                                 now - std::chrono::microseconds(kWindow).count());
  std::erase_if(sent_, [since](const auto& kv) { return kv.second < since; });
  auto result = pool_.Run(BuildTail(table_, filter_, since, limit_));
  if (!result.ok()) {
    pending_ += "event: error\ndata: {\"error\":" + JsonString(result.status().message()) + "}\n\n";
    return;
  }
  const PGresult* r = result->get();
  const int rows = PQntuples(r);
  int fresh = 0;
  for (int i = rows - 1; i >= 0; --i) {  // newest first from the query; send oldest first
    std::string id = PQgetvalue(r, i, 0);
    if (sent_.count(id) != 0) continue;
    ++fresh;
    sent_.emplace(std::move(id), std::strtoll(PQgetvalue(r, i, 1), nullptr, 10));
    pending_ += "event: record\ndata: " + RecordJson(r, i) + "\n\n";
  }
  // A full page of records not seen before: more may have arrived than one poll sends.
  if (rows == limit_ && fresh == limit_ && limit_ > 0) pending_ += "event: skipped\ndata: {}\n\n";
  if (sent_.size() > 100000) sent_.clear();  // only with absurd clocks; may resend some
}

}  // namespace logship::collector::console
