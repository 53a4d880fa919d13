#include "common/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

#include "common/utf8.h"
#include "common/time_format.h"
#include "common/thread/mutex.h"

namespace logship {
namespace {

std::atomic<LogLevel> g_level{LogLevel::kInfo};
Mutex g_mu;

const char* LevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "?";
}

}  // namespace

void SetLogLevel(LogLevel level) { g_level.store(level); }

void Log(LogLevel level, std::string_view component, std::string_view message) {
  if (level < g_level.load(std::memory_order_relaxed)) return;
  const auto now = std::chrono::system_clock::now();
  const std::string stamp =
      FormatUtc(std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count(), 3);
  std::string line;
  line.reserve(64 + message.size());
  line.append(stamp).append(" ").append(LevelName(level)).append(" ");
  line.append(component).append(": ");
  // Messages quote what clients and log lines contain: one event stays one line, and no
  // byte reaches the terminal or the journal as a control sequence (or invalid UTF-8).
  const size_t start = line.size();
  AppendEscapedUtf8(message, &line);
  for (size_t i = start; i < line.size(); ++i) {
    const auto c = static_cast<unsigned char>(line[i]);
    if (c >= 0x20 && c != 0x7f) continue;
    static constexpr char kHex[] = "0123456789abcdef";
    const char esc[4] = {'\\', 'x', kHex[c >> 4], kHex[c & 15]};
    line.replace(i, 1, esc, 4);
    i += 3;
  }
  line.append("\n");
  MutexLock lock(g_mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace logship
