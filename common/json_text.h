// Writes bytes as a JSON string: invalid UTF-8 and NUL become the text \xNN first
// (common/utf8.h), so any log content makes valid JSON. Shared by every JSON writer that
// carries log content (PostgreSQL attributes, Elasticsearch documents, dead letters).
#pragma once

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string>
#include <string_view>

#include "common/utf8.h"

namespace logship {

// Returns true when something had to be escaped. `scratch` is reused between calls.
inline bool WriteJsonText(rapidjson::Writer<rapidjson::StringBuffer>& w, std::string_view s, std::string* scratch) {
  scratch->clear();
  const bool escaped = AppendEscapedUtf8(s, scratch);
  w.String(scratch->data(), static_cast<rapidjson::SizeType>(scratch->size()));
  return escaped;
}

}  // namespace logship
