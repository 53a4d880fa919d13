#include "collector/sinks/elasticsearch/batch_progress.h"

#include <doctest/doctest.h>

namespace logship::collector::elasticsearch {
namespace {

TEST_CASE("batch progress: a retried batch gets back what it stored, once") {
  BatchProgress p;
  CHECK(p.Take("agent/a").empty());
  p.Keep("agent/a", {"a", "b"});
  p.Keep("agent/x", {"x"});
  p.Keep("agent/none", {});  // nothing stored: nothing kept
  CHECK(p.size() == 2);
  const auto ids = p.Take("agent/a");
  CHECK(ids == std::unordered_set<std::string>{"a", "b"});
  CHECK(p.Take("agent/a").empty());  // taken: a write that fails again keeps its own set
  CHECK(p.size() == 1);
}

TEST_CASE("batch progress: bounded; the oldest batch is forgotten (it is only re-sent)") {
  BatchProgress p;
  for (size_t i = 0; i < BatchProgress::kMaxBatches + 10; ++i) p.Keep("b" + std::to_string(i), {"id"});
  CHECK(p.size() == BatchProgress::kMaxBatches);
  CHECK(p.Take("b0").empty());
  CHECK(p.Take("b" + std::to_string(BatchProgress::kMaxBatches + 9)).size() == 1);
}

}  // namespace
}  // namespace logship::collector::elasticsearch
