// `set: {key: value, …}`: sets attributes.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "collector/pipeline/stage.h"

namespace logship::collector {

class SetStage final : public Stage {
 public:
  explicit SetStage(std::vector<std::pair<std::string, std::string>> values) : values_(std::move(values)) {}
  bool Apply(const RecordRef& r) const override {
    for (const auto& [k, v] : values_) r.SetAttribute(k, v);
    return true;
  }

 private:
  std::vector<std::pair<std::string, std::string>> values_;
};

}  // namespace logship::collector
