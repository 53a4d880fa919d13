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

}  // namespace

TailStream::TailStream(LogReader& reader, SearchFilter filter, int lines_per_second, std::atomic<int>& slots)
    : reader_(reader),
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
  auto result = reader_.Tail(filter_, since, limit_);
  if (!result.ok()) {
    pending_ += "event: error\ndata: {\"error\":" + JsonString(result.status().message()) + "}\n\n";
    return;
  }
  const int rows = static_cast<int>(result->size());
  int fresh = 0;
  for (auto it = result->rbegin(); it != result->rend(); ++it) {  // newest first from the reader; oldest first out
    if (sent_.count(it->id) != 0) continue;
    ++fresh;
    sent_.emplace(it->id, it->ts_us);
    pending_ += "event: record\ndata: " + RecordJson(*it) + "\n\n";
  }
  // A full page of records not seen before: more may have arrived than one poll sends.
  if (rows == limit_ && fresh == limit_ && limit_ > 0) pending_ += "event: skipped\ndata: {}\n\n";
  if (sent_.size() > 100000) sent_.clear();  // only with absurd clocks; may resend some
}

}  // namespace logship::collector::console
