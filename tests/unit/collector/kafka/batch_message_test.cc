#include "collector/kafka/batch_message.h"

#include <doctest/doctest.h>

#include <random>

#include "common/record_id.h"

namespace logship::collector {
namespace {

DecodedBatch MakeBatch(int records, size_t body_bytes) {
  std::mt19937 rng(7);
  DecodedBatch b;
  b.agent_id = "web-01";                // who the edge authenticated
  b.batch->set_agent_id("claimed-id");  // what the agent wrote: never what goes to Kafka
  b.batch->set_host("host-1");
  b.batch->add_sources()->set_name("/var/log/app.log");
  for (int i = 0; i < records; ++i) {
    auto* r = b.batch->add_records();
    r->set_id(std::string(FileRecordId("web-01", FilePosition{1, 2, 3, static_cast<uint64_t>(i)}).AsBytes()));
    std::string body(body_bytes, 'a');
    for (char& ch : body) ch = static_cast<char>('a' + rng() % 26);  // barely compressible
    r->set_body(body);
  }
  return b;
}

TEST_CASE("kafka message: a batch round-trips with its ids, and the authenticated agent id") {
  const DecodedBatch b = MakeBatch(100, 50);
  ZstdCompressor c(1);
  ZstdDecompressor d;
  std::vector<std::string> values;
  REQUIRE(EncodeBatchValues(b, 1 << 20, c, &values).ok());
  REQUIRE(values.size() == 1);
  DecodedBatch out;
  REQUIRE(DecodeBatchValue(values[0], d, &out).ok());
  CHECK(out.agent_id == "web-01");
  CHECK(out.batch->agent_id() == "web-01");
  CHECK(out.batch->host() == "host-1");
  REQUIRE(out.batch->records_size() == 100);
  for (int i = 0; i < 100; ++i) CHECK(out.batch->records(i).id() == b.batch->records(i).id());
}

TEST_CASE("kafka message: a batch over max_bytes is split by records; nothing lost or repeated") {
  const DecodedBatch b = MakeBatch(300, 1000);  // ~300 KB, barely compressible
  ZstdCompressor c(1);
  ZstdDecompressor d;
  std::vector<std::string> values;
  REQUIRE(EncodeBatchValues(b, 64 << 10, c, &values).ok());
  CHECK(values.size() >= 4);
  int next = 0;
  for (const auto& v : values) {
    CHECK(v.size() <= (64u << 10));
    DecodedBatch part;
    REQUIRE(DecodeBatchValue(v, d, &part).ok());
    CHECK(part.agent_id == "web-01");
    CHECK(part.batch->sources_size() == 1);
    for (const auto& r : part.batch->records()) CHECK(r.id() == b.batch->records(next++).id());
  }
  CHECK(next == 300);
}

TEST_CASE("kafka message: a single record over max_bytes still goes, alone") {
  const DecodedBatch b = MakeBatch(1, 200000);
  ZstdCompressor c(1);
  std::vector<std::string> values;
  REQUIRE(EncodeBatchValues(b, 64 << 10, c, &values).ok());
  CHECK(values.size() == 1);
}

TEST_CASE("kafka message: what is not a logship batch is refused with the reason") {
  ZstdCompressor c(1);
  ZstdDecompressor d;
  DecodedBatch out;
  CHECK_FALSE(DecodeBatchValue("plain text", d, &out).ok());
  std::string z;
  REQUIRE(c.Compress("\xff\xff\xff not protobuf", &z).ok());
  CHECK_FALSE(DecodeBatchValue(z, d, &out).ok());
  // A record without its id (an old or foreign producer): refused, not stored under a bad id.
  logship::v1::Batch no_id;
  no_id.add_sources();
  no_id.add_records()->set_body("x");
  REQUIRE(c.Compress(no_id.SerializeAsString(), &z).ok());
  DecodedBatch out2;
  CHECK(DecodeBatchValue(z, d, &out2).message().find("id") != std::string::npos);
  // A source index out of range.
  logship::v1::Batch bad_source;
  auto* r = bad_source.add_records();
  r->set_id(std::string(16, 'x'));
  r->set_source_index(3);
  REQUIRE(c.Compress(bad_source.SerializeAsString(), &z).ok());
  DecodedBatch out3;
  CHECK_FALSE(DecodeBatchValue(z, d, &out3).ok());
}

}  // namespace
}  // namespace logship::collector
