// The wire writer must give the Batch that protobuf's own objects give, for every field shape.
#include "agent/flow/batch_wire_writer.h"

#include <doctest/doctest.h>

#include <random>

#include "logship/v1/record.pb.h"

namespace logship::agent {
namespace {

std::string RandomBytes(std::mt19937_64& rng, size_t max) {
  std::string s(rng() % (max + 1), '\0');
  for (char& c : s) c = static_cast<char>(rng());  // any byte: not UTF-8, NULs, \r
  return s;
}

// Writes the same random content both ways; returns {wire writer's, protobuf's} Batch.
std::pair<logship::v1::Batch, logship::v1::Batch> BothWays(uint64_t seed, BatchWireWriter& writer) {
  std::mt19937_64 rng(seed);
  logship::v1::Batch want;
  want.set_agent_id("agent-1");
  want.set_host("host.example");
  const int sources = 1 + static_cast<int>(rng() % 4);
  std::vector<Attributes> source_attrs(static_cast<size_t>(sources));
  for (int i = 0; i < sources; ++i) {
    auto& attrs = source_attrs[static_cast<size_t>(i)];
    for (uint64_t k = rng() % 3; k > 0; --k) attrs.emplace_back(RandomBytes(rng, 8), RandomBytes(rng, 20));
    FilePosition file{rng() % 2 ? rng() : 0, rng() % 2 ? rng() : 0, rng() % 2 ? rng() : 0, 0, rng() % 3};
    const bool has_file = rng() % 3 != 0;
    const std::string name = RandomBytes(rng, 30);
    CHECK(writer.AddSource(name, attrs.empty() && rng() % 2 ? nullptr : &attrs, has_file ? &file : nullptr) ==
          static_cast<uint32_t>(i));
    auto* s = want.add_sources();
    s->set_name(name);
    for (const auto& [k, v] : attrs) {
      auto* kv = s->add_attributes();
      kv->set_key(k);
      kv->set_value(v);
    }
    if (has_file) {
      s->mutable_file()->set_device(file.device);
      s->mutable_file()->set_inode(file.inode);
      s->mutable_file()->set_fingerprint(file.fingerprint);
      s->mutable_file()->set_generation(file.generation);
    }
  }
  const int records = 1 + static_cast<int>(rng() % 200);
  std::vector<std::string> bodies, ids;
  std::vector<std::vector<std::string>> attr_text(static_cast<size_t>(records));
  std::vector<std::vector<AttributeView>> attr_views(static_cast<size_t>(records));
  for (int i = 0; i < records; ++i) {
    WireRecord r;
    bodies.push_back(RandomBytes(rng, i % 50 == 0 ? 70000 : 200));  // some bodies need 3-byte lengths
    ids.push_back(rng() % 2 ? RandomBytes(rng, 16) : std::string());
    auto& text = attr_text[static_cast<size_t>(i)];
    for (uint64_t k = rng() % 3; k > 0; --k) {
      text.push_back(RandomBytes(rng, 10));
      text.push_back(RandomBytes(rng, 300));
    }
    auto& views = attr_views[static_cast<size_t>(i)];
    for (size_t k = 0; k < text.size(); k += 2) views.push_back({text[k], text[k + 1]});
    r.id = ids.back();
    r.body = bodies.back();
    r.time_unix_nano = rng() % 2 ? rng() : 0;
    r.observed_time_unix_nano = rng() % 2 ? rng() : 0;
    r.severity = static_cast<int32_t>(rng() % 4 == 0 ? -static_cast<int64_t>(rng() % 100) : static_cast<int64_t>(rng() % 25));
    r.source_index = static_cast<uint32_t>(rng() % static_cast<uint64_t>(sources));
    r.attributes = views.empty() && rng() % 2 ? nullptr : &views;
    r.flags = static_cast<uint32_t>(rng() % 3);
    r.offset_delta = rng() % 3 == 0 ? static_cast<int64_t>(rng()) : 0;
    writer.AddRecord(r);
    auto* w = want.add_records();
    w->set_id(ids.back());
    w->set_time_unix_nano(r.time_unix_nano);
    w->set_observed_time_unix_nano(r.observed_time_unix_nano);
    w->set_severity(r.severity);
    w->set_body(bodies.back());
    w->set_source_index(r.source_index);
    for (size_t k = 0; k < text.size(); k += 2) {
      auto* kv = w->add_attributes();
      kv->set_key(text[k]);
      kv->set_value(text[k + 1]);
    }
    w->set_flags(r.flags);
    w->set_offset_delta(r.offset_delta);
  }
  CHECK(writer.records() == static_cast<uint32_t>(records));
  const SerializedBatch bytes = writer.Finish();
  logship::v1::Batch got;
  REQUIRE(got.ParseFromArray(bytes.data.get(), static_cast<int>(bytes.size)));
  CHECK(writer.records() == 0);
  return {std::move(got), std::move(want)};
}

TEST_CASE("batch wire writer: random batches parse to what protobuf's objects serialize") {
  BatchWireWriter writer("agent-1", "host.example");  // reused across batches, as the batcher does
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    CAPTURE(seed);
    auto [got, want] = BothWays(seed, writer);
    REQUIRE(got.records_size() == want.records_size());
    CHECK(got.SerializeAsString() == want.SerializeAsString());
  }
}

TEST_CASE("batch wire writer: a batch without records is nothing, and the next starts clean") {
  BatchWireWriter writer("a", "h");
  writer.AddSource("/var/log/x.log", nullptr, nullptr);
  CHECK(writer.Finish().size == 0);
  writer.AddSource("/var/log/y.log", nullptr, nullptr);
  WireRecord r;
  r.body = "line";
  writer.AddRecord(r);
  const SerializedBatch bytes = writer.Finish();
  logship::v1::Batch b;
  REQUIRE(b.ParseFromArray(bytes.data.get(), static_cast<int>(bytes.size)));
  REQUIRE(b.sources_size() == 1);
  CHECK(b.sources(0).name() == "/var/log/y.log");
  CHECK(b.records(0).body() == "line");
  CHECK(b.agent_id() == "a");
  CHECK(b.host() == "h");
}

}  // namespace
}  // namespace logship::agent
