// The collector's processing pipeline: the configured stages in order, then timestamp and
// severity extraction, applied to every record of a decoded batch. Immutable and
// thread-safe once built; a config reload builds a new one and swaps it in.
#pragma once

#include <memory>
#include <vector>

#include "collector/model/record_time.h"
#include "collector/pipeline/stage.h"
#include "collector/pipeline/extract_stage.h"
#include "common/config/config_node.h"
#include "logship/v1/record.pb.h"

namespace logship::collector {

class Pipeline {
 public:
  // From collector.yaml `pipeline:` (a list; a null node gives the empty pipeline).
  // Throws ConfigError, e.g. for a bad regex, with file:line:col.
  static std::shared_ptr<const Pipeline> FromConfig(const ConfigNode& list);

  // Runs the stages over every record, then the time and severity extraction, attribute
  // de-duplication and the event time clamp; dropped records are removed. Returns how many.
  size_t Process(logship::v1::Batch* batch, const EventTimeWindow& window = {}) const;
  size_t stages() const { return stages_.size(); }

 private:
  std::vector<StagePtr> stages_;
  ExtractStage extract_;
};

}  // namespace logship::collector
