// Message version 2: the agent's frame forwarded by the edge must give the indexer exactly
// the batch version 1 gives it (ids, observed times, extracted severity and time, the clamp).
#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

#include "collector/kafka/batch_message.h"
#include "collector/pipeline/pipeline.h"
#include "logship/v1/kafka.pb.h"

namespace logship::collector {
namespace {

using logship::v1::Batch;
using logship::v1::BatchFrame;

constexpr uint64_t kObserved = 1'800'000'000'000'000'000ULL;
constexpr EventTimeWindow kWindow{7LL * 24 * 3600 * 1'000'000'000, 3600LL * 1'000'000'000};

// What an agent sends: file records without ids (offset deltas), observed time only on the
// first, one source whose attributes carry a level and a time far outside the window.
BatchFrame AgentFrame(const std::string& batch_agent = "web-01") {
  Batch b;
  b.set_agent_id(batch_agent);
  b.set_host("web-01.example");
  auto* tagged = b.add_sources();
  tagged->set_name("/var/log/app.log");
  auto* level = tagged->add_attributes();
  level->set_key("level");
  level->set_value("warn");
  auto* ts = tagged->add_attributes();
  ts->set_key("ts");
  ts->set_value("2001-02-03T04:05:06Z");
  tagged->mutable_file()->set_device(1);
  tagged->mutable_file()->set_inode(2);
  tagged->mutable_file()->set_fingerprint(3);
  auto* plain = b.add_sources();
  plain->set_name("/var/log/plain.log");
  plain->mutable_file()->set_inode(9);
  for (int i = 0; i < 50; ++i) {
    auto* r = b.add_records();
    r->set_body(i % 5 == 0 ? "the same header line" : "line " + std::to_string(i) + (i % 2 ? "\r" : ""));
    r->set_source_index(static_cast<uint32_t>(i % 2));
    if (i == 0) r->set_observed_time_unix_nano(kObserved);
  }
  const std::string raw = b.SerializeAsString();
  BatchFrame f;
  ZstdCompressor c(1);
  REQUIRE(c.Compress(raw, f.mutable_payload()).ok());
  f.set_agent_id("web-01");
  f.set_sequence(42);
  f.set_part(1);
  f.set_parts(2);
  f.set_codec(logship::v1::CODEC_ZSTD);
  f.set_record_count(50);
  f.set_uncompressed_bytes(raw.size());
  return f;
}

// `b` as agent web-01's frame 1, not compressed.
BatchFrame UncompressedFrame(const Batch& b) {
  const std::string raw = b.SerializeAsString();
  BatchFrame f;
  f.set_agent_id("web-01");
  f.set_sequence(1);
  f.set_codec(logship::v1::CODEC_NONE);
  f.set_payload(raw);
  f.set_uncompressed_bytes(raw.size());
  f.set_record_count(static_cast<uint32_t>(b.records_size()));
  return f;
}

std::shared_ptr<const Pipeline> NoStages() { return Pipeline::FromConfig(ConfigNode(YAML::Node(), nullptr, "pipeline")); }

// The edge's side: decode, then the pipeline (no stages) with the ingest window.
DecodedBatch AtEdge(const BatchFrame& f, const std::string& principal) {
  DecodedBatch b;
  FrameDecoder decoder{Limits{}};
  std::vector<RefusedRecord> refused;
  REQUIRE(decoder.Decode(f, b.batch, &refused, principal).ok());
  REQUIRE(refused.empty());
  b.agent_id = f.agent_id();
  b.sequence = f.sequence();
  b.part = f.part();
  NoStages()->Process(b.batch, kWindow);
  return b;
}

// Both versions through the indexer's side (its pipeline has no stages; version 1 brings no window).
std::pair<DecodedBatch, DecodedBatch> BothVersions(const BatchFrame& f, const std::string& principal) {
  const DecodedBatch edge = AtEdge(f, principal);
  std::vector<std::string> values;
  ZstdCompressor c(1);
  ZstdDecompressor d;
  REQUIRE(EncodeBatchValues(edge, 1 << 20, c, &values).ok());
  REQUIRE(values.size() == 1);
  DecodedBatch v1;
  REQUIRE(DecodeBatchValue(values[0], d, &v1).ok());
  NoStages()->Process(v1.batch, EventTimeWindow{});

  const std::string v2_value = EncodeForwardedValue(ReceivedFrame{f, principal, kWindow});
  DecodedBatch v2;
  FrameDecoder frames(ForwardedFrameLimits());
  EventTimeWindow window;
  const Status s = DecodeForwardedValue(v2_value, frames, &v2, &window);
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  CHECK(window.max_past_ns == kWindow.max_past_ns);
  CHECK(window.max_future_ns == kWindow.max_future_ns);
  NoStages()->Process(v2.batch, window);
  CHECK(v2.sequence == 42);
  CHECK(v2.part == 1);
  return {std::move(v1), std::move(v2)};
}

TEST_CASE("kafka message v2: the indexer gets what version 1 gives, record for record") {
  for (const std::string principal : {"", "web-01", "cert:web-01.example"}) {
    CAPTURE(principal);
    auto [v1, v2] = BothVersions(AgentFrame(), principal);
    CHECK(v2.agent_id == v1.agent_id);
    REQUIRE(v2.batch->records_size() == 50);
    CHECK(v2.batch->SerializeAsString() == v1.batch->SerializeAsString());
    // What the comparison covers: ids bound to the principal, severity and the clamped time.
    const auto& r = v2.batch->records(0);
    CHECK(r.id().size() == 16);
    CHECK(r.severity() == 13);  // warn
    CHECK(r.time_unix_nano() == kObserved - static_cast<uint64_t>(kWindow.max_past_ns));
    CHECK(v2.batch->records(1).severity() == 0);  // the plain source
    CHECK(v2.batch->records(1).observed_time_unix_nano() == kObserved);
  }
}

TEST_CASE("kafka message v2: a batch that names an agent's old name is stored under the frame's") {
  auto [v1, v2] = BothVersions(AgentFrame("old-name"), "");
  CHECK(v2.agent_id == "web-01");
  CHECK(v2.batch->agent_id() == "web-01");
  CHECK(v2.batch->SerializeAsString() == v1.batch->SerializeAsString());
}

TEST_CASE("kafka message v2: what is not a forwarded frame is refused with the reason") {
  FrameDecoder frames(ForwardedFrameLimits());
  EventTimeWindow window;
  DecodedBatch out;
  CHECK(DecodeForwardedValue("\xff\xff\xff not protobuf", frames, &out, &window).code() == Status::Code::kCorruption);
  logship::v1::ForwardedFrame no_frame;
  no_frame.set_principal("web-01");
  CHECK(DecodeForwardedValue(no_frame.SerializeAsString(), frames, &out, &window).message().find("without its frame") !=
        std::string::npos);
  logship::v1::ForwardedFrame negative;
  *negative.mutable_frame() = AgentFrame();
  negative.set_max_past_ns(-1);
  CHECK_FALSE(DecodeForwardedValue(negative.SerializeAsString(), frames, &out, &window).ok());
  // A frame whose payload is not what it says: the frame decoder's reason, named.
  logship::v1::ForwardedFrame corrupt;
  *corrupt.mutable_frame() = AgentFrame();
  corrupt.mutable_frame()->mutable_payload()->assign("garbage");
  const Status s = DecodeForwardedValue(corrupt.SerializeAsString(), frames, &out, &window);
  CHECK(s.code() == Status::Code::kCorruption);
  CHECK(s.message().find("its frame") != std::string::npos);
  // A zstd bomb stops at the limit instead of taking the indexer's memory.
  logship::v1::ForwardedFrame bomb;
  *bomb.mutable_frame() = AgentFrame();
  bomb.mutable_frame()->set_uncompressed_bytes(uint64_t{1} << 40);
  CHECK_FALSE(DecodeForwardedValue(bomb.SerializeAsString(), frames, &out, &window).ok());
}

TEST_CASE("kafka message v2: an edge that only forwards checks everything but derives no ids") {
  // Ingest decodes with derive_ids = false when every sink writes only the frame; what the
  // indexer then stores must be what a fully derived edge would have sent as version 1.
  const BatchFrame f = AgentFrame();
  Batch checked;
  FrameDecoder decoder{Limits{}};
  std::vector<RefusedRecord> refused;
  REQUIRE(decoder.Decode(f, &checked, &refused, "web-01", /*derive_ids=*/false).ok());
  CHECK(checked.records(0).id().empty());
  CHECK(checked.records(3).observed_time_unix_nano() == kObserved);  // filled all the same
  auto [v1, v2] = BothVersions(f, "web-01");
  CHECK(v2.batch->SerializeAsString() == v1.batch->SerializeAsString());

  // Hostile records are refused exactly as when ids are derived.
  const auto refusal = [](const Batch& b, bool derive) {
    FrameDecoder d{Limits{}};
    Batch out;
    return d.Decode(UncompressedFrame(b), &out, nullptr, "", derive).ToString();
  };
  Batch b;
  b.set_agent_id("web-01");
  b.add_sources()->set_name("no file identity");
  b.add_records()->set_body("no id, no file");
  Batch short_id = b;
  short_id.mutable_records(0)->set_id("short");
  Batch back = b;
  back.mutable_sources(0)->mutable_file()->set_inode(1);
  back.mutable_records(0)->set_offset_delta(-5);  // before the start of the file
  for (const Batch& hostile : {b, short_id, back}) {
    const std::string derived = refusal(hostile, true);
    CHECK(derived != Status::Ok().ToString());
    CHECK(refusal(hostile, false) == derived);
  }

  // A record refused at decoding (for the dead letter) still gets its id.
  Limits small;
  small.max_attribute_bytes = 64;
  Batch over = b;
  over.mutable_sources(0)->mutable_file()->set_inode(1);
  auto* kv = over.add_records();
  kv->set_body("second");
  auto* big = kv->add_attributes();
  big->set_key("k");
  big->set_value(std::string(100, 'v'));
  FrameDecoder d{small};
  Batch out;
  std::vector<RefusedRecord> dead;
  REQUIRE(d.Decode(UncompressedFrame(over), &out, &dead, "", false).ok());
  REQUIRE(dead.size() == 1);
  CHECK(dead[0].record.id().size() == 16);
  CHECK(out.records(0).id().size() == 16);
}

TEST_CASE("kafka message v2: the size bound known before decoding is never below the value") {
  const BatchFrame f = AgentFrame();
  for (const std::string& principal : {std::string(), std::string("web-01"), std::string(300, 'p')}) {
    for (const EventTimeWindow w : {EventTimeWindow{}, kWindow, EventTimeWindow{INT64_MAX, INT64_MAX}}) {
      const std::string v = EncodeForwardedValue(ReceivedFrame{f, principal, w});
      CHECK(v.size() <= ForwardedValueBound(f.ByteSizeLong(), principal.size()));
      CHECK(v.size() + 48 >= ForwardedValueBound(f.ByteSizeLong(), principal.size()));
    }
  }
}

}  // namespace
}  // namespace logship::collector
