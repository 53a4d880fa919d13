// `json: {}`: a body that is a JSON object becomes attributes: scalars as text, nested
// objects flattened with dotted keys (depth <= 8), arrays as JSON text.
#pragma once

#include "collector/pipeline/stage.h"

namespace logship::collector {

class JsonStage final : public Stage {
 public:
  bool Apply(const RecordRef& r) const override;
};

}  // namespace logship::collector
