#include "collector/pipeline/stages/kv/kv_stage.h"

#include <cctype>
#include <string>

namespace logship::collector {

bool KvStage::Apply(const RecordRef& r) const {
  if (r.record->body().size() > kMaxParseBytes) {
    r.MarkFailed("kv");
    return true;
  }
  const std::string body(r.record->body());
  size_t i = 0, found = 0;
  const auto key_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-'; };
  while (i < body.size() && found < kMaxAddedAttributes) {
    while (i < body.size() && body[i] == delimiter_) ++i;
    const size_t ks = i;
    while (i < body.size() && key_char(body[i])) ++i;
    if (i == ks || i >= body.size() || body[i] != separator_) {
      while (i < body.size() && body[i] != delimiter_) ++i;  // not a pair: skip the token
      continue;
    }
    const std::string key = body.substr(ks, i - ks);
    ++i;
    std::string value;
    if (i < body.size() && body[i] == '"') {
      ++i;
      while (i < body.size() && body[i] != '"') {
        if (body[i] == '\\' && i + 1 < body.size()) ++i;
        value.push_back(body[i++]);
      }
      ++i;
    } else {
      const size_t vs = i;
      while (i < body.size() && body[i] != delimiter_) ++i;
      value = body.substr(vs, i - vs);
    }
    r.SetAttribute(key, value);
    ++found;
  }
  if (found == 0) r.MarkFailed("kv");
  return true;
}

}  // namespace logship::collector
