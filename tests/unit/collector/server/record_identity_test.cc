#include "collector/server/record_identity.h"

#include <doctest/doctest.h>

#include "common/record_id.h"

namespace logship::collector {
namespace {

logship::v1::Batch FileBatch() {
  logship::v1::Batch b;
  b.set_agent_id("web-01");
  auto* s = b.add_sources();
  s->set_name("/var/log/app.log");
  s->mutable_file()->set_device(8);
  s->mutable_file()->set_inode(99);
  s->mutable_file()->set_fingerprint(0xfeed);
  return b;
}

TEST_CASE("file record ids are derived from the source's identity and the offset chain") {
  logship::v1::Batch b = FileBatch();
  auto* r1 = b.add_records();  // offset 100 (first of the source: counted from 0)
  r1->set_offset_delta(100);
  r1->set_body("hello");
  r1->set_observed_time_unix_nano(5);
  auto* r2 = b.add_records();  // offset 106: right after "hello\n", delta 0 (absent)
  r2->set_body("world");
  auto* r3 = b.add_records();  // the second part of a split line: it starts where "world" ends
  r3->set_offset_delta(-1);
  r3->set_body("x");
  r3->set_observed_time_unix_nano(7);
  REQUIRE(ResolveRecordIdentity(&b).ok());
  const auto id_at = [](uint64_t offset) {
    return std::string(FileRecordId("web-01", FilePosition{8, 99, 0xfeed, offset}).AsBytes());
  };
  CHECK(b.records(0).id() == id_at(100));
  CHECK(b.records(1).id() == id_at(106));
  CHECK(b.records(2).id() == id_at(111));  // 106 + 5, no newline between the parts
  CHECK(b.records(1).observed_time_unix_nano() == 5u);  // carried over
  CHECK(b.records(2).observed_time_unix_nano() == 7u);
  CHECK(b.records(0).offset_delta() == 0);  // the compact form is gone
}

TEST_CASE("explicit ids pass through; hostile compact records are refused") {
  logship::v1::Batch b = FileBatch();
  b.add_records()->set_id(std::string(16, 'i'));
  REQUIRE(ResolveRecordIdentity(&b).ok());
  CHECK(b.records(0).id() == std::string(16, 'i'));

  b.add_records()->set_id("short");
  CHECK_FALSE(ResolveRecordIdentity(&b).ok());

  logship::v1::Batch no_file;
  no_file.set_agent_id("a");
  no_file.add_sources()->set_name("sshd.service");
  no_file.add_records();
  CHECK(ResolveRecordIdentity(&no_file).message().find("no file identity") != std::string::npos);

  logship::v1::Batch negative = FileBatch();
  negative.add_records()->set_offset_delta(-1);
  CHECK(ResolveRecordIdentity(&negative).message().find("out of range") != std::string::npos);

  logship::v1::Batch huge = FileBatch();
  huge.add_records()->set_offset_delta(INT64_MAX);
  auto* r = huge.add_records();
  r->set_offset_delta(INT64_MAX);
  r->set_body("x");
  CHECK_FALSE(ResolveRecordIdentity(&huge).ok());

  logship::v1::Batch min = FileBatch();
  min.add_records()->set_offset_delta(INT64_MIN);
  CHECK_FALSE(ResolveRecordIdentity(&min).ok());
}

}  // namespace
}  // namespace logship::collector
