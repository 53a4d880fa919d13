// Tiny JSON output helpers for the console API. Strings are escaped so that the text is
// safe inside HTML too: <, >, & and ' become \u escapes; invalid UTF-8 becomes U+FFFD.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "collector/model/log_reader.h"

namespace logship::collector::console {

// Appends s as a quoted JSON string.
void AppendJsonString(std::string* out, std::string_view s);
std::string JsonString(std::string_view s);

// Unix microseconds → "2026-11-22T16:00:12.123456Z".
std::string FormatTimestamp(int64_t unix_micros);
// A stored record as the API's JSON object.
std::string RecordJson(const StoredRecord& record);

}  // namespace logship::collector::console
