#include "collector/pipeline/stages/json/json_stage.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace logship::collector {

namespace {

constexpr int kMaxJsonDepth = 8;       // objects flattened into dotted keys
constexpr int kMaxJsonNesting = 64;    // any deeper document is not parsed at all

// The deepest nesting of arrays and objects in `text`, counted without parsing (strings and
// their escapes skipped), stopping as soon as it passes `limit`. Linear, no recursion.
int JsonNesting(std::string_view text, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') {
      if (++depth > deepest && (deepest = depth) > limit) return deepest;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

std::string ToText(const rapidjson::Value& v) {
  if (v.IsString()) return std::string(v.GetString(), v.GetStringLength());
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

void Flatten(const rapidjson::Value& obj, const std::string& prefix, int depth, int* budget, const RecordRef& r) {
  for (auto it = obj.MemberBegin(); it != obj.MemberEnd() && *budget > 0; ++it) {
    const std::string key = prefix + std::string(it->name.GetString(), it->name.GetStringLength());
    if (it->value.IsObject() && depth < kMaxJsonDepth) {
      Flatten(it->value, key + ".", depth + 1, budget, r);
    } else if (!it->value.IsNull()) {
      r.SetAttribute(key, ToText(it->value));
      --*budget;
    }
  }
}

}  // namespace

bool JsonStage::Apply(const RecordRef& r) const {
  const std::string_view body = r.record->body();
  // Bounded before parsing: a huge or deeply nested document (hundreds of thousands of '[')
  // is marked failed and stored as it is, never parsed (a recursive walk would overflow the
  // stack; a DOM of it would take memory without end).
  if (body.size() > kMaxParseBytes || JsonNesting(body, kMaxJsonNesting) > kMaxJsonNesting) {
    r.MarkFailed("json");
    return true;
  }
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseStopWhenDoneFlag | rapidjson::kParseIterativeFlag>(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    r.MarkFailed("json");
    return true;
  }
  int budget = kMaxAddedAttributes;
  Flatten(doc, "", 0, &budget, r);
  return true;
}

}  // namespace logship::collector
