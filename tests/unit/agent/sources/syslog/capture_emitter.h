// An Emitter that keeps copies of what a syslog source emits, for tests. Loop thread only.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "agent/sources/source.h"

namespace logship::agent::syslog::testing {

struct Captured {
  std::string body;
  std::string source_name;
  uint64_t source_id = 0;
  std::map<std::string, std::string> attributes;  // the source's and the record's
  size_t attribute_count = 0;                     // the record's own
  int32_t severity = 0;
  int64_t time_unix_nano = 0;
  int64_t observed_unix_nano = 0;
  uint32_t flags = 0;
  bool has_id = false;
  RecordId id;
  std::string delta;  // the positions' delta taken right after the record (as if sealed alone)

  std::string Attr(const std::string& k) const {
    auto it = attributes.find(k);
    return it == attributes.end() ? "<absent>" : it->second;
  }
};

class CaptureEmitter final : public Emitter {
 public:
  void Emit(const LineRecord& r) override {
    Captured c;
    c.body = std::string(r.body);
    c.source_name = std::string(r.source_name);
    c.source_id = r.source_id;
    if (r.attributes != nullptr) {
      for (const auto& [k, v] : *r.attributes) c.attributes[k] = v;
    }
    if (r.record_attributes != nullptr) {
      for (const auto& a : *r.record_attributes) c.attributes[std::string(a.key)] = std::string(a.value);
      c.attribute_count = r.record_attributes->size();
    }
    c.severity = r.severity;
    c.time_unix_nano = r.time_unix_nano;
    c.observed_unix_nano = r.observed_unix_nano;
    c.flags = r.flags;
    c.has_id = r.has_id;
    c.id = r.id;
    if (r.positions != nullptr) {
      r.positions->Advance(r);
      r.positions->TakeDelta(&c.delta);
    }
    records.push_back(std::move(c));
    if (on_emit) on_emit();
  }
  bool Accepting() const override { return accepting; }
  void PositionsMoved(PositionTracker&) override {}
  void ApplyNow(std::string_view, std::string) override {}

  std::vector<Captured> records;
  bool accepting = true;
  std::function<void()> on_emit;
};

}  // namespace logship::agent::syslog::testing
