#include "collector/pipeline/stages/regex/regex_stage.h"

#include <vector>

namespace logship::collector {

bool RegexStage::Apply(const RecordRef& r) const {
  const int groups = re_->NumberOfCapturingGroups();
  std::vector<re2::StringPiece> caps(static_cast<size_t>(groups) + 1);
  const std::string_view body = r.record->body();
  if (body.size() > kMaxParseBytes) {
    r.MarkFailed("regex");
    return true;
  }
  if (!re_->Match(re2::StringPiece(body.data(), body.size()), 0, body.size(), RE2::UNANCHORED, caps.data(),
                  groups + 1)) {
    r.MarkFailed("regex");
    return true;
  }
  for (const auto& [name, index] : re_->NamedCapturingGroups()) {
    const auto& c = caps[static_cast<size_t>(index)];
    if (c.data() != nullptr) r.SetAttribute(name, std::string_view(c.data(), c.size()));
  }
  return true;
}

}  // namespace logship::collector
