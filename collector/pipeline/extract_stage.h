// The pipeline's own last step (not a plugin): event time and severity from attributes.
#pragma once

#include <cstdint>
#include <string_view>

#include "collector/pipeline/stage.h"

namespace logship::collector {

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

}  // namespace logship::collector
