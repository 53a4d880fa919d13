#include "collector/console/json.h"

#include "collector/model/severity.h"
#include "common/time_format.h"
#include "common/utf8.h"

namespace logship::collector::console {

void AppendJsonString(std::string* out, std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  while (!s.empty()) {
    const size_t valid = logship::ValidUtf8Prefix(s);
    for (size_t i = 0; i < valid; ++i) {
      const unsigned char c = static_cast<unsigned char>(s[i]);
      switch (c) {
        case '"': out->append("\\\""); break;
        case '\\': out->append("\\\\"); break;
        case '\n': out->append("\\n"); break;
        case '\r': out->append("\\r"); break;
        case '\t': out->append("\\t"); break;
        default:
          if (c < 0x20 || c == '<' || c == '>' || c == '&' || c == '\'') {
            out->append("\\u00");
            out->push_back(kHex[c >> 4]);
            out->push_back(kHex[c & 15]);
          } else if (c == 0xE2 && i + 2 < valid && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
                     (static_cast<unsigned char>(s[i + 2]) == 0xA8 || static_cast<unsigned char>(s[i + 2]) == 0xA9)) {
            out->append(static_cast<unsigned char>(s[i + 2]) == 0xA8 ? "\\u2028" : "\\u2029");
            i += 2;
          } else {
            out->push_back(static_cast<char>(c));
          }
      }
    }
    s.remove_prefix(valid);
    if (!s.empty()) {  // one invalid byte
      out->append("\\ufffd");
      s.remove_prefix(1);
    }
  }
  out->push_back('"');
}

std::string JsonString(std::string_view s) {
  std::string out;
  AppendJsonString(&out, s);
  return out;
}

std::string FormatTimestamp(int64_t unix_micros) { return FormatUtc(unix_micros * 1000, 6); }

namespace {

// JSON text from the store, made safe to embed like our own strings: <, > and & only occur
// inside JSON strings there, where a \u escape means the same.
void AppendRawJson(std::string* out, std::string_view json) {
  for (char c : json) {
    switch (c) {
      case '<': out->append("\\u003c"); break;
      case '>': out->append("\\u003e"); break;
      case '&': out->append("\\u0026"); break;
      default: out->push_back(c);
    }
  }
}

}  // namespace

std::string RecordJson(const StoredRecord& r) {
  std::string out = "{\"id\":";
  AppendJsonString(&out, r.id);
  out += ",\"ts\":\"" + FormatTimestamp(r.ts_us) + "\",\"ts_us\":" + std::to_string(r.ts_us) + ",\"host\":";
  AppendJsonString(&out, r.host);
  out += ",\"agent_id\":";
  AppendJsonString(&out, r.agent_id);
  out += ",\"source\":";
  AppendJsonString(&out, r.source);
  out += ",\"severity\":" + std::to_string(r.severity) + ",\"level\":\"" + SeverityClassName(r.severity) +
         "\",\"body\":";
  AppendJsonString(&out, r.body);
  out += ",\"attributes\":";
  AppendRawJson(&out, r.attributes_json);
  out += ",\"trace_id\":";
  AppendJsonString(&out, r.trace_id);
  out += ",\"correlation_id\":";
  AppendJsonString(&out, r.correlation_id);
  out += "}";
  return out;
}

}  // namespace logship::collector::console
