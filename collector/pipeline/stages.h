// The built-in stages. Each is small enough to read in one sitting; their behaviour is
// documented in README "Pipeline".
#pragma once

#include <re2/re2.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "collector/pipeline/stage.h"

namespace logship::collector {

// `json: {}` — a body that is a JSON object becomes attributes: scalars as text, nested
// objects flattened with dotted keys (depth <= 8), arrays as JSON text.
class JsonStage final : public Stage {
 public:
  bool Apply(const RecordRef& r) const override;
};

// `regex: {pattern: …}` — RE2 named captures become attributes. No match = failure.
class RegexStage final : public Stage {
 public:
  explicit RegexStage(std::unique_ptr<RE2> re) : re_(std::move(re)) {}
  bool Apply(const RecordRef& r) const override;

 private:
  std::unique_ptr<RE2> re_;
};

// `kv: {separator: "=", delimiter: " "}` — key=value pairs (values may be "quoted").
class KvStage final : public Stage {
 public:
  KvStage(char separator, char delimiter) : separator_(separator), delimiter_(delimiter) {}
  bool Apply(const RecordRef& r) const override;

 private:
  char separator_, delimiter_;
};

// `set: {key: value, …}` — sets attributes.
class SetStage final : public Stage {
 public:
  explicit SetStage(std::vector<std::pair<std::string, std::string>> values) : values_(std::move(values)) {}
  bool Apply(const RecordRef& r) const override;

 private:
  std::vector<std::pair<std::string, std::string>> values_;
};

// `drop: {when: …}` — drops matching records (the condition is required).
class DropStage final : public Stage {
 public:
  bool Apply(const RecordRef&) const override { return false; }
};

// Always last: event time from ts/time/timestamp/@timestamp and severity from
// level/severity, when the record has none yet.
class ExtractStage final : public Stage {
 public:
  bool Apply(const RecordRef& r) const override;
  // False when no record of this source can yield a time or severity unless it has
  // attributes of its own: Apply is skipped for those records (the common case).
  static bool SourceMayMatter(const logship::v1::Source& source);
};

// Parses RFC 3339 / ISO 8601 ("2026-11-22T13:00:00.123Z", "+02:00", space for T) and Unix
// epochs in s, ms, us or ns (by magnitude). 0 when unparseable.
int64_t ParseTimestampNanos(std::string_view text);
// OpenTelemetry severity number for a level name or number; 0 when unknown.
int32_t ParseSeverity(std::string_view text);

}  // namespace logship::collector
