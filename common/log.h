// Process log: one line per event on stderr ("2026-11-22T13:00:00.123Z level component: text").
// The text is escaped (control characters, newlines and invalid UTF-8 as \xNN), so what a
// client or a log line contains can neither forge log lines nor reach a terminal as a control
// sequence. Thread-safe. Secrets must never be passed here.
#pragma once

#include <string_view>

namespace logship {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

void SetLogLevel(LogLevel level);
void Log(LogLevel level, std::string_view component, std::string_view message);

inline void LogInfo(std::string_view c, std::string_view m) { Log(LogLevel::kInfo, c, m); }
inline void LogWarn(std::string_view c, std::string_view m) { Log(LogLevel::kWarn, c, m); }
inline void LogError(std::string_view c, std::string_view m) { Log(LogLevel::kError, c, m); }
inline void LogDebug(std::string_view c, std::string_view m) { Log(LogLevel::kDebug, c, m); }

}  // namespace logship
