// One live tail: a server-sent-events body that polls the log reader once a second for new
// records matching a filter and sends each once, oldest first.
//
// Bounded: at most `lines_per_second` records per poll (the newest ones; when more arrived,
// an "event: skipped" says so), one query per second, and only records whose ts is within
// the last kWindow (and not before the tail began, minus kBacklog). A record that arrives
// later than kWindow after its ts is not shown (search finds it).
//
// Events:  event: record / data: <record JSON>      event: skipped / data: {}
//          event: error / data: {"error": "..."}    ":" comment lines as keep-alive.
//
// Threads: Read() runs on one HTTP pool thread at a time; the object is not shared.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "collector/model/log_reader.h"

namespace logship::collector::console {

class TailStream {
 public:
  static constexpr std::chrono::seconds kWindow{60};
  static constexpr std::chrono::seconds kBacklog{10};
  static constexpr std::chrono::milliseconds kPollInterval{1000};

  // `reader` and `slots` must outlive the stream; `slots` is decremented on destruction.
  TailStream(LogReader& reader, SearchFilter filter, int lines_per_second, std::atomic<int>& slots);
  ~TailStream();
  TailStream(const TailStream&) = delete;
  TailStream& operator=(const TailStream&) = delete;

  // The http::StreamFn contract: fills buf; http::kStreamWait until the next poll is due
  // (never sleeps); 0 = end.
  size_t Read(char* buf, size_t max, const std::atomic<bool>& stop);

 private:
  void Poll();

  LogReader& reader_;
  const SearchFilter filter_;
  const int limit_;
  std::atomic<int>& slots_;
  const int64_t start_us_;
  std::chrono::steady_clock::time_point next_poll_;
  std::map<std::string, int64_t> sent_;  // id → ts of records already sent, within the window
  std::string pending_;
  size_t offset_ = 0;
};

}  // namespace logship::collector::console
