#include "collector/pipeline/stage.h"

#include <fnmatch.h>

namespace logship::collector {

const std::string* RecordRef::Attribute(std::string_view key) const {
  for (const auto& kv : record->attributes())
    if (kv.key() == key) return &kv.value();
  for (const auto& kv : source->attributes())
    if (kv.key() == key) return &kv.value();
  return nullptr;
}

void RecordRef::SetAttribute(std::string_view key, std::string_view value) const {
  for (auto& kv : *record->mutable_attributes()) {
    if (kv.key() == key) {
      kv.set_value(value.data(), value.size());
      return;
    }
  }
  auto* kv = record->add_attributes();
  kv->set_key(key.data(), key.size());
  kv->set_value(value.data(), value.size());
}

void RecordRef::MarkFailed(std::string_view stage) const {
  constexpr std::string_view kKey = "logship.failed_stage";
  const std::string* prev = nullptr;
  for (const auto& kv : record->attributes())
    if (kv.key() == kKey) prev = &kv.value();
  SetAttribute(kKey, prev == nullptr ? std::string(stage) : *prev + "," + std::string(stage));
}

bool Condition::Matches(const RecordRef& r) const {
  if (!source_glob.empty() && fnmatch(source_glob.c_str(), r.source->name().c_str(), 0) != 0) return false;
  for (const auto& [key, glob] : attribute_globs) {
    const std::string* v = r.Attribute(key);
    if (v == nullptr || fnmatch(glob.c_str(), v->c_str(), 0) != 0) return false;
  }
  return true;
}

}  // namespace logship::collector
