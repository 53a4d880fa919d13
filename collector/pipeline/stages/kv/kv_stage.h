// `kv: {separator: "=", delimiter: " "}`: key=value pairs (values may be "quoted").
#pragma once

#include "collector/pipeline/stage.h"

namespace logship::collector {

class KvStage final : public Stage {
 public:
  KvStage(char separator, char delimiter) : separator_(separator), delimiter_(delimiter) {}
  bool Apply(const RecordRef& r) const override;

 private:
  char separator_, delimiter_;
};

}  // namespace logship::collector
