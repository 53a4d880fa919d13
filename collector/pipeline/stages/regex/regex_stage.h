// `regex: {pattern: …}`: RE2 named captures become attributes. No match = failure.
#pragma once

#include <re2/re2.h>

#include <memory>

#include "collector/pipeline/stage.h"

namespace logship::collector {

class RegexStage final : public Stage {
 public:
  explicit RegexStage(std::unique_ptr<RE2> re) : re_(std::move(re)) {}
  bool Apply(const RecordRef& r) const override;

 private:
  std::unique_ptr<RE2> re_;
};

}  // namespace logship::collector
