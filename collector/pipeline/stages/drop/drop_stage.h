// `drop: {when: …}`: drops matching records (the condition is required).
#pragma once

#include "collector/pipeline/stage.h"

namespace logship::collector {

class DropStage final : public Stage {
 public:
  bool Apply(const RecordRef&) const override { return false; }
};

}  // namespace logship::collector
