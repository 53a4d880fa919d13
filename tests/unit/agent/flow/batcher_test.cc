#include "agent/flow/batcher.h"

#include <doctest/doctest.h>

#include <map>

#include "agent/flow/batch_encoder.h"
#include "agent/sources/file/file_positions.h"
#include "agent/sources/file/file_state.pb.h"
#include "agent/sources/journald/journald_state.h"
#include "agent/sources/journald/journald_state.pb.h"
#include "collector/server/record_identity.h"
#include "common/zstd_codec.h"

namespace logship::agent {
namespace {

struct Line {
  uint64_t source_id;
  std::string path;
  std::string body;
  FilePosition next;
  uint32_t flags = 0;
};

LineRecord ToRecord(const Line& l, const Attributes* attrs, PositionTracker* positions = nullptr) {
  LineRecord r;
  r.source_id = l.source_id;
  r.source_name = l.path;
  r.attributes = attrs;
  r.body = l.body;
  r.start_position = FilePosition{l.next.device, l.next.inode, l.next.fingerprint, l.next.offset - l.body.size() - 1};
  r.id = FileRecordId("agent-1", r.start_position);
  r.observed_unix_nano = 1700000000000000000 + static_cast<int64_t>(l.next.offset);
  r.flags = l.flags;
  r.next_position = l.next;
  r.positions = positions;
  return r;
}

// The file positions a sealed batch's delta (or meta) holds.
std::vector<v1::FileCheckpoint> FilesOf(const v1::Checkpoints& delta) {
  file::v1::FileSourceState state;
  if (auto it = delta.states().find("file"); it != delta.states().end()) REQUIRE(state.ParseFromString(it->second));
  return {state.files().begin(), state.files().end()};
}

logship::v1::Batch Unpack(const SealedBatch& sealed) {
  ZstdDecompressor d;
  std::string raw;
  const Status s = d.Decompress(sealed.payload, sealed.uncompressed_bytes, sealed.uncompressed_bytes, &raw);
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  logship::v1::Batch b;
  REQUIRE(b.ParseFromString(raw));
  return b;
}

// Take + Encode, as the pipeline does across its two threads.
Result<SealedBatch> Seal(Batcher& b, int level = 1) {
  auto filled = b.Take();
  if (!filled.ok()) return filled.status();
  BatchEncoder encoder(level);
  return encoder.Encode(std::move(filled).value());
}

BatchConfig Config(uint32_t max_records, uint64_t max_bytes = 1 << 20) {
  BatchConfig c;
  c.max_records = max_records;
  c.max_bytes = max_bytes;
  return c;
}

TEST_CASE("batcher: Add reports full exactly at max_records") {
  Batcher b(Config(3), "agent-1", "host-1");
  const Line l{1, "/var/log/a.log", "x", {1, 2, 3, 2}};
  CHECK(b.empty());
  CHECK_FALSE(b.Add(ToRecord(l, nullptr)));
  CHECK_FALSE(b.Add(ToRecord(l, nullptr)));
  CHECK(b.Add(ToRecord(l, nullptr)));
  CHECK(b.records() == 3);
  CHECK_FALSE(b.empty());
}

TEST_CASE("batcher: Add reports full once max_bytes is reached") {
  Batcher b(Config(1000, 1024), "agent-1", "host-1");
  const Line small{1, "/a", std::string(100, 's'), {1, 2, 3, 101}};
  const Line big{1, "/a", std::string(2000, 'b'), {1, 2, 3, 2102}};
  CHECK_FALSE(b.Add(ToRecord(small, nullptr)));
  CHECK(b.Add(ToRecord(big, nullptr)));
}

TEST_CASE("batcher: by default a batch of ordinary log lines closes on bytes (1 MiB), not on records") {
  // Every batch costs a fixed amount on its way (a wake-up, an fsync round, a frame and its
  // ack): a record cap that binds before max_bytes for ordinary lines multiplies that cost.
  Batcher b(BatchConfig{}, "agent-1", "host-1");
  const std::string body(150, 'l');  // an access-log line
  uint64_t offset = 0;
  size_t added = 0;
  bool full = false;
  while (!full && added < 100000) {
    offset += body.size() + 1;
    full = b.Add(ToRecord(Line{1, "/var/log/access.log", body, {1, 2, 3, offset}}, nullptr));
    ++added;
  }
  CHECK(full);
  CHECK(added < BatchConfig{}.max_records);     // closed by max_bytes
  CHECK(added * (body.size() + 1) >= 800000u);  // most of the MiB is lines (the rest: per-record overhead)
}

TEST_CASE("batcher: with the defaults, a caught-up source's batch is worth sealing at 1,000 records, as before") {
  // Bulk reading fills batches to max_bytes; a steady stream that the sources keep up with
  // must not wait for half of max_records (5,000 lines: 250 ms at 20,000 lines/s).
  Batcher b(BatchConfig{}, "agent-1", "host-1");
  uint64_t offset = 0;
  for (int i = 0; i < 999; ++i) {
    offset += 81;
    b.Add(ToRecord(Line{1, "/var/log/app.log", std::string(80, 'l'), {1, 2, 3, offset}}, nullptr));
  }
  CHECK_FALSE(b.WorthSealing());
  b.Add(ToRecord(Line{1, "/var/log/app.log", std::string(80, 'l'), {1, 2, 3, offset + 81}}, nullptr));
  CHECK(b.WorthSealing());

  Batcher few(Config(10), "agent-1", "host-1");  // a small max_records: half of it
  for (uint64_t i = 1; i <= 5; ++i) few.Add(ToRecord(Line{1, "/a", "x", {1, 2, 3, 2 * i}}, nullptr));
  CHECK(few.WorthSealing());
}

TEST_CASE("batcher: Seal produces a zstd Batch with the records, a deduplicated sources table and the checkpoint delta") {
  Batcher b(Config(100), "agent-1", "host-1");
  const Attributes attrs_a{{"service", "app"}, {"env", "prod"}};
  const Attributes attrs_b{{"service", "db"}};
  const std::vector<Line> lines{
      {10, "/var/log/a.log", "a-one", {8, 100, 0xAAAA, 6}},
      {20, "/var/log/b.log", "b-one", {8, 200, 0xBBBB, 6}},
      {10, "/var/log/a.log", "a-two", {8, 100, 0xAAAA, 12}},
      {10, "/var/log/a.log", "a-three-part", {8, 100, 0xAAAA, 24}, 1},
      {20, "/var/log/b.log", std::string("b\0two\xff", 6), {8, 200, 0xBBBB, 13}},
  };
  FilePositions files("file:test");
  for (const auto& l : lines) b.Add(ToRecord(l, l.source_id == 10 ? &attrs_a : &attrs_b, &files));

  auto sealed = Seal(b);
  REQUIRE_MESSAGE(sealed.ok(), sealed.status().ToString());
  CHECK(b.empty());
  CHECK(sealed->record_count == 5u);
  CHECK(ZSTD_getFrameContentSize(sealed->payload.data(), sealed->payload.size()) == sealed->uncompressed_bytes);

  logship::v1::Batch batch = Unpack(*sealed);
  // File records carry no id; the collector derives the same ids the agent would have.
  for (const auto& r : batch.records()) CHECK(r.id().empty());
  REQUIRE(collector::ResolveRecordIdentity(&batch).ok());
  CHECK(batch.agent_id() == "agent-1");
  CHECK(batch.host() == "host-1");
  REQUIRE(batch.sources_size() == 2);
  CHECK(batch.sources(0).name() == "/var/log/a.log");
  REQUIRE(batch.sources(0).attributes_size() == 2);
  CHECK(batch.sources(0).attributes(0).key() == "service");
  CHECK(batch.sources(0).attributes(0).value() == "app");
  CHECK(batch.sources(0).attributes(1).key() == "env");
  CHECK(batch.sources(1).name() == "/var/log/b.log");
  REQUIRE(batch.sources(1).attributes_size() == 1);
  CHECK(batch.sources(1).attributes(0).value() == "db");

  REQUIRE(batch.records_size() == 5);
  const std::vector<uint32_t> source_index{0, 1, 0, 0, 1};
  for (int i = 0; i < 5; ++i) {
    const auto& r = batch.records(i);
    const Line& l = lines[static_cast<size_t>(i)];
    CHECK(r.body() == l.body);
    CHECK(r.source_index() == source_index[static_cast<size_t>(i)]);
    CHECK(r.flags() == l.flags);
    const LineRecord expected = ToRecord(l, nullptr);
    CHECK(r.id() == std::string(expected.id.AsBytes()));
    CHECK(r.observed_time_unix_nano() == static_cast<uint64_t>(expected.observed_unix_nano));
    CHECK(r.time_unix_nano() == 0u);
  }

  // The delta holds the last position per file (device, inode), once each.
  REQUIRE(FilesOf(sealed->delta).size() == 2);
  logship::agent::v1::Checkpoints meta;
  REQUIRE(meta.ParseFromString(sealed->meta));
  REQUIRE(FilesOf(meta).size() == 2);
  for (const auto& f : FilesOf(meta)) {
    CHECK(f.source() == "file:test");
    if (f.inode() == 100) {
      CHECK(f.path() == "/var/log/a.log");
      CHECK(f.device() == 8u);
      CHECK(f.fingerprint() == 0xAAAAu);
      CHECK(f.offset() == 24u);
    } else {
      CHECK(f.inode() == 200u);
      CHECK(f.path() == "/var/log/b.log");
      CHECK(f.fingerprint() == 0xBBBBu);
      CHECK(f.offset() == 13u);
    }
  }
}

TEST_CASE("batcher: after Seal the next batch starts with a fresh sources table and delta") {
  Batcher b(Config(100), "agent-1", "host-1");
  FilePositions files("file:test");
  b.Add(ToRecord({1, "/a", "one", {1, 1, 1, 4}}, nullptr, &files));
  b.Add(ToRecord({2, "/b", "two", {1, 2, 2, 4}}, nullptr, &files));
  REQUIRE(Seal(b).ok());

  b.Add(ToRecord({2, "/b", "three", {1, 2, 2, 10}}, nullptr, &files));
  auto sealed = Seal(b);
  REQUIRE(sealed.ok());
  CHECK(sealed->record_count == 1u);
  const logship::v1::Batch batch = Unpack(*sealed);
  REQUIRE(batch.sources_size() == 1);
  CHECK(batch.sources(0).name() == "/b");
  REQUIRE(batch.records_size() == 1);
  CHECK(batch.records(0).source_index() == 0u);
  CHECK(batch.records(0).body() == "three");
  REQUIRE(FilesOf(sealed->delta).size() == 1);
  CHECK(FilesOf(sealed->delta)[0].inode() == 2u);
  CHECK(FilesOf(sealed->delta)[0].offset() == 10u);
}

TEST_CASE("batcher: the reused Batch carries nothing of the previous one into the next") {
  Batcher b(Config(100), "agent-1", "host-1");
  const std::vector<AttributeView> rec_attrs{{"k", "v"}, {"trace_id", "abc"}};
  for (int i = 0; i < 3; ++i) {
    const Line l{1, "/a", "first-batch-line", {1, 1, 1, 17u * (i + 1)}};  // the record views it
    LineRecord r = ToRecord(l, nullptr);
    r.record_attributes = &rec_attrs;
    r.severity = 9;
    r.time_unix_nano = 42;
    b.Add(r);
  }
  REQUIRE(Seal(b).ok());

  b.Add(ToRecord({2, "/b", "x", {1, 2, 2, 2}}, nullptr));
  auto sealed = Seal(b);
  REQUIRE(sealed.ok());
  const logship::v1::Batch batch = Unpack(*sealed);
  REQUIRE(batch.records_size() == 1);
  CHECK(batch.records(0).body() == "x");
  CHECK(batch.records(0).attributes_size() == 0);
  CHECK(batch.records(0).severity() == 0);
  CHECK(batch.records(0).time_unix_nano() == 0u);
  REQUIRE(batch.sources_size() == 1);
  CHECK(batch.sources(0).name() == "/b");
  CHECK(batch.agent_id() == "agent-1");
  CHECK(batch.host() == "host-1");
}

TEST_CASE("batcher: a renamed file keeps one checkpoint entry under its latest path") {
  Batcher b(Config(100), "agent-1", "host-1");
  FilePositions files("file:test");
  b.Add(ToRecord({1, "/var/log/app.log", "before", {5, 42, 9, 7}}, nullptr, &files));
  b.Add(ToRecord({1, "/var/log/app.log.1", "after", {5, 42, 9, 13}}, nullptr, &files));
  auto sealed = Seal(b);
  REQUIRE(sealed.ok());
  REQUIRE(FilesOf(sealed->delta).size() == 1);
  CHECK(FilesOf(sealed->delta)[0].path() == "/var/log/app.log.1");
  CHECK(FilesOf(sealed->delta)[0].offset() == 13u);
}

TEST_CASE("batcher: event time, severity and record attributes are carried into the record") {
  Batcher b(Config(100), "agent-1", "host-1");
  const std::vector<AttributeView> attrs{{"trace_id", "abc"}, {"user", "ann"}};
  const Line l{1, "nginx.service", "GET /", {0, 0, 0, 1}};
  LineRecord r = ToRecord(l, nullptr);
  r.time_unix_nano = 1600000000000000001;
  r.severity = 17;
  r.record_attributes = &attrs;
  b.Add(r);
  LineRecord plain = ToRecord(l, nullptr);
  b.Add(plain);
  auto sealed = Seal(b);
  REQUIRE(sealed.ok());
  const logship::v1::Batch batch = Unpack(*sealed);
  REQUIRE(batch.records_size() == 2);
  const auto& rec = batch.records(0);
  CHECK(rec.time_unix_nano() == 1600000000000000001u);
  CHECK(rec.severity() == 17);
  REQUIRE(rec.attributes_size() == 2);
  CHECK(rec.attributes(0).key() == "trace_id");
  CHECK(rec.attributes(0).value() == "abc");
  CHECK(rec.attributes(1).key() == "user");
  CHECK(batch.records(1).time_unix_nano() == 0u);
  CHECK(batch.records(1).severity() == 0);
  CHECK(batch.records(1).attributes_size() == 0);
}

TEST_CASE("batcher: the delta holds the last journal cursor per journal source") {
  Batcher b(Config(100), "agent-1", "host-1");
  std::map<std::string, JournalPositions> trackers;
  const std::vector<std::pair<std::string, std::string>> entries{
      {"journald:system|units=|priorities=", "cursor-1"},
      {"journald:/srv/j|units=|priorities=", "cursor-a"},
      {"journald:system|units=|priorities=", "cursor-2"},
  };
  for (const auto& [key, cursor] : entries) {
    LineRecord r;
    r.source_id = 99;
    r.source_name = "sshd.service";
    r.body = "entry";
    r.id = JournalRecordId("agent-1", cursor);
    r.has_id = true;
    auto& tracker = trackers.try_emplace(key, key).first->second;
    tracker.MovedTo(cursor.c_str());
    r.positions = &tracker;
    b.Add(r);
  }
  auto sealed = Seal(b);
  REQUIRE(sealed.ok());
  CHECK(FilesOf(sealed->delta).empty());
  logship::agent::v1::Checkpoints meta;
  REQUIRE(meta.ParseFromString(sealed->meta));
  journald::v1::JournaldSourceState journals;
  REQUIRE(journals.ParseFromString(meta.states().at("journald")));
  REQUIRE(journals.journals_size() == 2);
  std::map<std::string, std::string> cursors;
  for (const auto& j : journals.journals()) cursors[j.key()] = j.cursor();
  CHECK(cursors["journald:system|units=|priorities="] == "cursor-2");
  CHECK(cursors["journald:/srv/j|units=|priorities="] == "cursor-a");
}

TEST_CASE("batcher: a file path that is not valid UTF-8 still yields a batch the collector can parse") {
  // Linux paths are bytes; a Latin-1 file name must not make the whole batch undecodable.
  Batcher b(Config(100), "agent-1", "host-1");
  const Line l{1, "/var/log/caf\xe9.log", "hello", {1, 2, 3, 6}};
  b.Add(ToRecord(l, nullptr));
  auto sealed = Seal(b);
  REQUIRE(sealed.ok());
  ZstdDecompressor d;
  std::string raw;
  REQUIRE(d.Decompress(sealed->payload, sealed->uncompressed_bytes, sealed->uncompressed_bytes, &raw).ok());
  logship::v1::Batch batch;
  CHECK(batch.ParseFromString(raw));
  CHECK(batch.records_size() == 1);
}

TEST_CASE("batcher: record attributes that are not valid UTF-8 still yield a parseable batch") {
  // Journal fields are bytes; one odd value must not make the whole batch undecodable.
  Batcher b(Config(100), "agent-1", "host-1");
  const std::vector<AttributeView> attrs{{"MESSAGE_ID", "\xff\xfe"}};
  const Line l{1, "app.service", "hello", {1, 2, 3, 6}};
  LineRecord r = ToRecord(l, nullptr);
  r.record_attributes = &attrs;
  b.Add(r);
  auto sealed = Seal(b);
  REQUIRE(sealed.ok());
  ZstdDecompressor d;
  std::string raw;
  REQUIRE(d.Decompress(sealed->payload, sealed->uncompressed_bytes, sealed->uncompressed_bytes, &raw).ok());
  logship::v1::Batch batch;
  CHECK(batch.ParseFromString(raw));
}

}  // namespace
}  // namespace logship::agent
