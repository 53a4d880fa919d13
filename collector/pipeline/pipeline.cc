#include "collector/pipeline/pipeline.h"

namespace logship::collector {
namespace {

Condition ParseWhen(ConfigNode node) {
  Condition c;
  if (node.IsNull()) return c;
  ConfigMap m(node);
  c.source_glob = m.String("source", "");
  if (auto a = m.Optional("attributes"); !a.IsNull()) c.attribute_globs = a.AsStringMap();
  m.Finish();
  if (c.empty()) node.Fail("a condition needs source and/or attributes");
  return c;
}

char SingleChar(ConfigMap& m, const std::string& key, char def) {
  auto n = m.Optional(key);
  if (n.IsNull()) return def;
  const std::string v = n.AsString();
  if (v.size() != 1) n.Fail("must be a single character");
  return v[0];
}

StagePtr ParseStage(const ConfigNode& item) {
  if (!item.IsMap() || item.raw().size() != 1)
    item.Fail("each pipeline entry is one stage: json, regex, kv, set or drop");
  const std::string kind = item.raw().begin()->first.Scalar();
  ConfigNode body(item.raw().begin()->second, item.file(), item.path() + "." + kind);
  std::unique_ptr<Stage> stage;
  Condition when;
  if (kind == "set") {
    // `set` takes its values straight from the map; `when` is the one reserved key.
    std::vector<std::pair<std::string, std::string>> values;
    if (!body.IsMap()) body.Fail("expected a mapping of attribute names to values");
    for (const auto& kv : body.raw()) {
      const std::string key = kv.first.Scalar();
      if (key == "when") when = ParseWhen(ConfigNode(kv.second, body.file(), body.path() + ".when"));
      else values.emplace_back(key, ConfigNode(kv.second, body.file(), body.path() + "." + key).AsString());
    }
    if (values.empty()) body.Fail("set needs at least one attribute");
    stage = std::make_unique<SetStage>(std::move(values));
  } else {
    ConfigMap m(body.IsNull() ? LoadYamlString("{}", *item.file()) : body);
    when = ParseWhen(m.Optional("when"));
    if (kind == "json") {
      stage = std::make_unique<JsonStage>();
    } else if (kind == "regex") {
      ConfigNode pattern = m.Require("pattern");
      RE2::Options opts;
      opts.set_log_errors(false);
      auto re = std::make_unique<RE2>(pattern.AsString(), opts);
      if (!re->ok()) pattern.Fail("invalid regular expression: " + re->error());
      if (re->NamedCapturingGroups().empty()) pattern.Fail("the pattern has no named captures (?P<name>…)");
      stage = std::make_unique<RegexStage>(std::move(re));
    } else if (kind == "kv") {
      stage = std::make_unique<KvStage>(SingleChar(m, "separator", '='), SingleChar(m, "delimiter", ' '));
    } else if (kind == "drop") {
      if (when.empty()) body.Fail("drop needs a when condition (dropping everything is surely a mistake)");
      stage = std::make_unique<DropStage>();
    } else {
      item.Fail("unknown stage \"" + kind + "\" (expected json, regex, kv, set or drop)");
    }
    m.Finish();
  }
  stage->when = std::move(when);
  return stage;
}

}  // namespace

std::shared_ptr<const Pipeline> Pipeline::FromConfig(const ConfigNode& list) {
  auto p = std::make_shared<Pipeline>();
  if (list.IsNull()) return p;
  for (const auto& item : list.AsSequence()) p->stages_.push_back(ParseStage(item));
  return p;
}

static void ClampEventTime(logship::v1::LogRecord* rec, const EventTimeWindow& window) {
  const auto t = static_cast<int64_t>(rec->time_unix_nano());
  const auto observed = static_cast<int64_t>(rec->observed_time_unix_nano());
  if (t == 0 || observed == 0) return;
  int64_t clamped = t;
  if (window.max_past_ns > 0 && t < observed - window.max_past_ns) clamped = observed - window.max_past_ns;
  if (window.max_future_ns > 0 && t > observed + window.max_future_ns) clamped = observed + window.max_future_ns;
  if (clamped == t) return;
  auto* kv = rec->add_attributes();
  kv->set_key("logship.original_time");
  kv->set_value(std::to_string(t));
  rec->set_time_unix_nano(static_cast<uint64_t>(clamped));
}

size_t Pipeline::Process(logship::v1::Batch* batch, const EventTimeWindow& window) const {
  auto* records = batch->mutable_records();
  std::vector<char> source_matters(static_cast<size_t>(batch->sources_size()));
  for (int s = 0; s < batch->sources_size(); ++s)
    source_matters[static_cast<size_t>(s)] = ExtractStage::SourceMayMatter(batch->sources(s));
  int keep = 0;
  for (int i = 0; i < records->size(); ++i) {
    auto* rec = records->Mutable(i);
    RecordRef r{rec, &batch->sources(static_cast<int>(rec->source_index()))};
    bool kept = true;
    for (const auto& stage : stages_) {
      if (!stage->when.empty() && !stage->when.Matches(r)) continue;
      if (!stage->Apply(r)) {
        kept = false;
        break;
      }
    }
    if (!kept) continue;
    if (rec->attributes_size() > 0 || source_matters[rec->source_index()]) extract_.Apply(r);
    DedupeAttributes(rec);
    ClampEventTime(rec, window);
    if (keep != i) records->SwapElements(keep, i);
    ++keep;
  }
  const size_t dropped = static_cast<size_t>(records->size() - keep);
  if (dropped > 0) records->DeleteSubrange(keep, records->size() - keep);
  return dropped;
}

}  // namespace logship::collector
