// A processing stage of the collector pipeline (collector.yaml `pipeline:`), applied to
// each record in order. Stages are immutable after construction and thread-safe: one
// pipeline serves every stream at once.
//
// A stage that cannot parse a record never drops it: the record goes on unparsed, and the
// stage's name is added to the attribute `logship.failed_stage`.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "logship/v1/record.pb.h"

namespace logship::collector {

// What any one parse may take: a body longer than this is not parsed (the stage is marked
// failed), so no input makes a stage take unbounded time or memory.
inline constexpr size_t kMaxParseBytes = 1 << 20;
// Attributes one stage may add to a record; a body with more pairs or keys adds this many.
inline constexpr int kMaxAddedAttributes = 256;
// Attributes a record may carry after the pipeline; more are dropped and the record flagged.
inline constexpr int kMaxRecordAttributes = 1024;

// One record in flight, with the source it came from.
//
// SetAttribute appends (constant time: a body with thousands of keys costs linear time, not
// quadratic); the latest value of a key wins, and DedupeAttributes, run once per record at
// the end of the pipeline, keeps only that one.
struct RecordRef {
  logship::v1::LogRecord* record;
  const logship::v1::Source* source;

  // The latest record attribute, else the source attribute. nullptr when absent.
  const std::string* Attribute(std::string_view key) const;
  // Sets (replaces) a record attribute.
  void SetAttribute(std::string_view key, std::string_view value) const;
  void MarkFailed(std::string_view stage) const;
};

// Keeps the last value of each key, in the order of those last values.
void DedupeAttributes(logship::v1::LogRecord* record);

// `when:` — every listed part must match (fnmatch globs). Empty: always true.
struct Condition {
  std::string source_glob;                                  // on the source name
  std::vector<std::pair<std::string, std::string>> attribute_globs;  // key → glob on its value
  bool Matches(const RecordRef& r) const;
  bool empty() const { return source_glob.empty() && attribute_globs.empty(); }
};

class Stage {
 public:
  virtual ~Stage() = default;
  // Returns false to drop the record.
  virtual bool Apply(const RecordRef& r) const = 0;
  Condition when;
};

using StagePtr = std::unique_ptr<const Stage>;

}  // namespace logship::collector
