#include "collector/pipeline/pipeline.h"

#include "collector/pipeline/stage_plugin.h"

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

StagePtr ParseStage(const ConfigNode& item) {
  if (!item.IsMap() || item.raw().size() != 1) item.Fail("each pipeline entry is one stage: " + StageTypeList());
  const std::string kind = item.raw().begin()->first.Scalar();
  const StagePlugin* plugin = FindStagePlugin(kind);
  if (plugin == nullptr) item.Fail("unknown stage \"" + kind + "\" (expected " + StageTypeList() + ")");
  ConfigNode body(item.raw().begin()->second, item.file(), item.path() + "." + kind);
  ConfigMap m(body.IsNull() ? LoadYamlString("{}", *item.file()) : body);
  Condition when = ParseWhen(m.Optional("when"));
  std::unique_ptr<Stage> stage = plugin->parse(m, !when.empty());
  m.Finish();
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
