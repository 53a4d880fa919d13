#include "collector/delivery/batch_writer.h"

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
    ++writes;
    if (fail.load()) return {WriteOutcome::kRetry, "down"};
    if (fail_next.load() > 0) {
      --fail_next;
      return {WriteOutcome::kRetry, "busy"};
    }
    stored += static_cast<uint64_t>(b.batch->records_size());
    return {WriteOutcome::kOk, ""};
  }
  Status HealthCheck() override { return Status::Ok(); }
  bool WantsReceivedFrame() const override { return frame_only; }
  bool WritesOnlyFrame(uint64_t frame_bytes, size_t /*principal_bytes*/) const override {
    return frame_only && frame_bytes <= 1000;
  }
  bool frame_only = false;  // writes only DecodedBatch::received, for frames up to 1000 bytes
  std::atomic<bool> fail{false};
  std::atomic<int> fail_next{0};  // this many writes answer kRetry, then it stores
  std::atomic<int> writes{0};
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

SinkDelivery Optional() {
  SinkDelivery d;
  d.required = false;
  d.queue_max_bytes = 1 << 20;
  return d;
}

SinkDelivery Retrying(std::chrono::milliseconds budget) {
  SinkDelivery d;
  d.retry_budget = budget;
  d.retry_min = std::chrono::milliseconds(1);
  d.retry_max = std::chrono::milliseconds(5);
  return d;
}

TEST_CASE("fan-out: a required sink's retry is tried again within its retry budget, not handed back") {
  ScriptedSink first("first"), flaky("flaky");
  metrics::Registry registry;
  BatchWriter writer({SinkSlot{&first, {}}, SinkSlot{&flaky, Retrying(std::chrono::seconds(10))}}, registry);
  Pipeline pipeline;
  flaky.fail_next = 3;
  DecodedBatch b = Batch(10);
  CHECK(writer.Write(pipeline, b).outcome == WriteOutcome::kOk);
  CHECK(flaky.writes == 4);
  CHECK(first.writes == 1);  // a sink that already committed is not written again
  CHECK(registry.GetCounter("logship_collector_sink_errors_total", "", {{"sink", "flaky"}}).value() == 3);
  CHECK(registry.GetCounter("logship_collector_sink_records_total", "", {{"sink", "flaky"}}).value() == 10);
}

TEST_CASE("fan-out: without a retry budget, or once it is spent, the batch goes back at once") {
  ScriptedSink none("none"), brief("brief");
  metrics::Registry registry;
  BatchWriter writer({SinkSlot{&none, {}}}, registry);
  BatchWriter brief_writer({SinkSlot{&brief, Retrying(std::chrono::milliseconds(50))}}, registry);
  Pipeline pipeline;
  none.fail = true;
  brief.fail = true;
  DecodedBatch b = Batch(1);
  CHECK(writer.Write(pipeline, b).outcome == WriteOutcome::kRetry);
  CHECK(none.writes == 1);
  const auto start = std::chrono::steady_clock::now();
  CHECK(brief_writer.Write(pipeline, b).outcome == WriteOutcome::kRetry);
  CHECK(brief.writes > 1);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}

TEST_CASE("fan-out: Interrupt ends a write waiting to be tried again (shutdown is not held by a budget)") {
  ScriptedSink down("down");
  metrics::Registry registry;
  SinkDelivery d = Retrying(std::chrono::hours(1));
  d.retry_min = d.retry_max = std::chrono::seconds(30);
  BatchWriter writer({SinkSlot{&down, d}}, registry);
  Pipeline pipeline;
  down.fail = true;
  const auto start = std::chrono::steady_clock::now();
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    writer.Interrupt();
  });
  DecodedBatch b = Batch(1);
  CHECK(writer.Write(pipeline, b).outcome == WriteOutcome::kRetry);
  stopper.join();
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
}

TEST_CASE("fan-out: a failing required sink fails the batch; an optional one never does") {
  ScriptedSink required("req"), optional("opt");
  metrics::Registry registry;
  BatchWriter writer({SinkSlot{&required, {}}, SinkSlot{&optional, Optional()}}, registry);
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
  BatchWriter writer({SinkSlot{&required, {}}, SinkSlot{&optional, Optional()}}, registry);
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

TEST_CASE("fan-out: a batch is left underived only when every sink writes nothing but its frame") {
  ScriptedSink edge("edge"), mirror("mirror"), table("table");
  edge.frame_only = mirror.frame_only = true;
  metrics::Registry registry;
  BatchWriter forward({SinkSlot{&edge, {}}, SinkSlot{&mirror, Optional()}}, registry);
  CHECK(forward.WritesOnlyFrame(500, 0));
  CHECK_FALSE(forward.WritesOnlyFrame(5000, 0));  // a sink that could not forward this one
  metrics::Registry r2;
  CHECK_FALSE(BatchWriter({SinkSlot{&edge, {}}, SinkSlot{&table, Optional()}}, r2).WritesOnlyFrame(500, 0));
  metrics::Registry r3;
  CHECK_FALSE(BatchWriter(std::vector<SinkSlot>{}, r3).WritesOnlyFrame(500, 0));

  // Such a batch is written without the pipeline's steps, and only with its frame.
  Pipeline pipeline;
  DecodedBatch b = Batch(3);
  b.derived = false;
  CHECK(forward.Write(pipeline, b).outcome == WriteOutcome::kRetry);  // no frame: never written bare
  CHECK(edge.writes == 0);
  b.received = std::make_shared<ReceivedFrame>();
  CHECK(forward.Write(pipeline, b).outcome == WriteOutcome::kOk);
  CHECK(edge.stored == 3);
}

}  // namespace
}  // namespace logship::collector
