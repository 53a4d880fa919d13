#include "collector/pipeline/stage.h"

#include <fnmatch.h>

#include <unordered_set>
#include <vector>

namespace logship::collector {

namespace {
constexpr std::string_view kTruncated = "logship.truncated_attributes";
}

const std::string* RecordRef::Attribute(std::string_view key) const {
  const auto& attrs = record->attributes();
  for (int i = attrs.size() - 1; i >= 0; --i)
    if (attrs[i].key() == key) return &attrs[i].value();
  for (const auto& kv : source->attributes())
    if (kv.key() == key) return &kv.value();
  return nullptr;
}

void RecordRef::SetAttribute(std::string_view key, std::string_view value) const {
  if (record->attributes_size() >= kMaxRecordAttributes) {
    // Full: the newest are dropped, and the record says so (this one slot is kept for it).
    auto& last = *record->mutable_attributes(kMaxRecordAttributes - 1);
    if (last.key() != kTruncated) {
      last.set_key(kTruncated.data(), kTruncated.size());
      last.set_value("true");
    }
    return;
  }
  auto* kv = record->add_attributes();
  kv->mutable_key()->assign(key);  // not set_key(data, size): that copies via a temporary string
  kv->mutable_value()->assign(value);
}

void RecordRef::MarkFailed(std::string_view stage) const {
  constexpr std::string_view kKey = "logship.failed_stage";
  const std::string* prev = nullptr;
  for (const auto& kv : record->attributes())
    if (kv.key() == kKey) prev = &kv.value();
  SetAttribute(kKey, prev == nullptr ? std::string(stage) : *prev + "," + std::string(stage));
}

void DedupeAttributes(logship::v1::LogRecord* record) {
  auto* attrs = record->mutable_attributes();
  if (attrs->size() < 2) return;
  std::unordered_set<std::string_view> seen;
  seen.reserve(static_cast<size_t>(attrs->size()));
  // From the back: the first time a key is met there, it is its latest value.
  std::vector<bool> keep(static_cast<size_t>(attrs->size()));
  bool duplicates = false;
  for (int i = attrs->size() - 1; i >= 0; --i) {
    keep[static_cast<size_t>(i)] = seen.insert((*attrs)[i].key()).second;
    duplicates |= !keep[static_cast<size_t>(i)];
  }
  if (!duplicates) return;
  int out = 0;
  for (int i = 0; i < attrs->size(); ++i) {
    if (!keep[static_cast<size_t>(i)]) continue;
    if (out != i) attrs->SwapElements(out, i);
    ++out;
  }
  attrs->DeleteSubrange(out, attrs->size() - out);
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
