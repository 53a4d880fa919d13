#include "collector/ingest/batch_writer.h"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>

namespace logship::collector {
namespace {

// A sink whose answer the test sets; counts what it stored.
class ScriptedSink final : public Sink {
 public:
  explicit ScriptedSink(std::string name) : name_(std::move(name)) {}
  std::string_view name() const override { return name_; }
  WriteResult Write(const DecodedBatch& b) override {
    if (fail.load()) return {WriteOutcome::kRetry, "down"};
    stored += static_cast<uint64_t>(b.batch->records_size());
    return {WriteOutcome::kOk, ""};
  }
  Status HealthCheck() override { return Status::Ok(); }
  std::atomic<bool> fail{false};
  std::atomic<uint64_t> stored{0};

 private:
  std::string name_;
};

DecodedBatch Batch(int records) {
  DecodedBatch b;
  b.agent_id = "agent-1";
  b.batch->add_sources()->set_name("source-1");
  const std::string body(1000, 'x');
  for (int i = 0; i < records; ++i) b.batch->add_records()->set_body(body);
  return b;
}

TEST_CASE("fan-out: a failing required sink fails the batch; an optional one never does") {
  ScriptedSink required("req"), optional("opt");
  metrics::Registry registry;
  BatchWriter writer({SinkSlot{&required, true, 0}, SinkSlot{&optional, false, 1 << 20}}, registry);
  Pipeline pipeline;
  optional.fail = true;
  DecodedBatch b = Batch(10);
  CHECK(writer.Write(pipeline, b).outcome == WriteOutcome::kOk);
  required.fail = true;
  b = Batch(10);
  CHECK(writer.Write(pipeline, b).outcome == WriteOutcome::kRetry);
  required.fail = false;
  optional.fail = false;
  for (int i = 0; i < 100 && optional.stored.load() < 10; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(required.stored == 10);
  CHECK(optional.stored == 10);  // the failed batch reached no optional sink; the first was retried until stored
  writer.Stop(std::chrono::milliseconds(1000));
}

TEST_CASE("an optional sink that is down drops beyond its queue bound and counts it") {
  ScriptedSink required("req"), optional("opt");
  optional.fail = true;
  metrics::Registry registry;
  BatchWriter writer({SinkSlot{&required, true, 0}, SinkSlot{&optional, false, 1 << 20}}, registry);
  Pipeline pipeline;
  for (int i = 0; i < 50; ++i) {  // 50 batches of ~100 KB: the 1 MiB queue holds about 10
    DecodedBatch b = Batch(100);
    CHECK(writer.Write(pipeline, b).outcome == WriteOutcome::kOk);
  }
  CHECK(required.stored == 5000);
  const std::string text = registry.Render();
  CHECK(text.find("logship_collector_sink_dropped_records_total{sink=\"opt\"}") != std::string::npos);
  writer.Stop(std::chrono::milliseconds(0));
  CHECK(registry.GetCounter("logship_collector_sink_dropped_records_total", "", {{"sink", "opt"}}).value() == 5000);
}

}  // namespace
}  // namespace logship::collector
