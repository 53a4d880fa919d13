// The `regex` stage plugin.
#include "collector/pipeline/stage_plugin.h"
#include "collector/pipeline/stages/regex/regex_stage.h"

namespace logship::collector::plugins {
namespace {

std::unique_ptr<Stage> Parse(ConfigMap& m, bool) {
  ConfigNode pattern = m.Require("pattern");
  RE2::Options opts;
  opts.set_log_errors(false);
  auto re = std::make_unique<RE2>(pattern.AsString(), opts);
  if (!re->ok()) pattern.Fail("invalid regular expression: " + re->error());
  if (re->NamedCapturingGroups().empty()) pattern.Fail("the pattern has no named captures (?P<name>…)");
  return std::make_unique<RegexStage>(std::move(re));
}

}  // namespace

const StagePlugin& stage_regex() {
  static const StagePlugin kPlugin{.type = "regex", .parse = &Parse};
  return kPlugin;
}

}  // namespace logship::collector::plugins
