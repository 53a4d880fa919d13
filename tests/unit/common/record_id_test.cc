#include "common/record_id.h"

#include <doctest/doctest.h>

#include <cctype>
#include <set>

namespace logship {
namespace {

const FilePosition kPos{/*device=*/0x801, /*inode=*/123456, /*fingerprint=*/0x0123456789abcdefULL, /*offset=*/4096};

TEST_CASE("record id: the same origin always gives the same id") {
  CHECK(FileRecordId("web-01", kPos) == FileRecordId("web-01", kPos));
  FilePosition copy = kPos;
  CHECK(FileRecordId(std::string("web-01"), copy) == FileRecordId("web-01", kPos));
}

TEST_CASE("record id: the encoding is pinned (changing it would re-key every stored record)") {
  // XXH3-128 of "logship.file.v1" | u64le len(agent) | agent | u64le device | inode |
  // fingerprint | offset, as canonical big-endian bytes; computed independently.
  CHECK(FileRecordId("web-01", kPos).ToUuid() == "88fe460f-57fa-8fb5-56cf-71c0c9914e87");
}

TEST_CASE("record id: generation 0 keeps the v1 key; later generations are keyed apart") {
  FilePosition g1 = kPos;
  g1.generation = 1;
  FilePosition g2 = kPos;
  g2.generation = 2;
  CHECK(FileRecordId("web-01", kPos).ToUuid() == "88fe460f-57fa-8fb5-56cf-71c0c9914e87");
  CHECK(!(FileRecordId("web-01", g1) == FileRecordId("web-01", kPos)));
  CHECK(!(FileRecordId("web-01", g2) == FileRecordId("web-01", g1)));
  CHECK(FileRecordId("web-01", g1) == FileRecordId("web-01", g1));
}

TEST_CASE("record id: a bound id depends on the principal") {
  const RecordId id = FileRecordId("web-01", kPos);
  CHECK(BoundRecordId("web-01", id) == BoundRecordId("web-01", id));
  CHECK(!(BoundRecordId("web-01", id) == BoundRecordId("mallory", id)));
  CHECK(!(BoundRecordId("web-01", id) == id));
}

TEST_CASE("record id: changing any part of the origin changes the id") {
  const RecordId base = FileRecordId("web-01", kPos);
  std::set<std::string> seen{base.ToUuid()};
  auto differs = [&](std::string_view agent, FilePosition p) {
    const RecordId id = FileRecordId(agent, p);
    CHECK(!(id == base));
    CHECK(seen.insert(id.ToUuid()).second);  // and from every other variant
  };
  differs("web-02", kPos);
  differs("web-0", kPos);
  differs("", kPos);
  FilePosition p = kPos;
  p.device += 1;
  differs("web-01", p);
  p = kPos;
  p.inode += 1;
  differs("web-01", p);
  p = kPos;
  p.fingerprint ^= 1;
  differs("web-01", p);
  p = kPos;
  p.offset += 1;
  differs("web-01", p);
  p = kPos;
  std::swap(p.device, p.inode);  // fields are not interchangeable
  differs("web-01", p);
}

TEST_CASE("record id: the agent id length is part of the key, so agent and position cannot alias") {
  // Moving the agent id's last byte into the device field must not produce the same key.
  FilePosition a{};
  a.device = 0;
  FilePosition b{};
  b.device = 'x';
  CHECK(!(FileRecordId("agentx", a) == FileRecordId("agent", b)));
}

TEST_CASE("record id: ToUuid is lower-case 8-4-4-4-12 hex of the bytes in order") {
  RecordId id;
  id.bytes = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF};
  CHECK(id.ToUuid() == "00112233-4455-6677-8899-aabbccddeeff");

  const std::string u = FileRecordId("host", kPos).ToUuid();
  REQUIRE(u.size() == 36);
  for (size_t i = 0; i < u.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      CHECK(u[i] == '-');
    } else {
      CHECK_MESSAGE((std::isdigit(static_cast<unsigned char>(u[i])) || (u[i] >= 'a' && u[i] <= 'f')), u);
    }
  }
}

TEST_CASE("record id: FromBytes accepts exactly 16 bytes and round-trips AsBytes") {
  const RecordId id = FileRecordId("web-01", kPos);
  RecordId back;
  REQUIRE(RecordId::FromBytes(id.AsBytes(), &back));
  CHECK(back == id);
  CHECK_FALSE(RecordId::FromBytes(std::string(15, 'a'), &back));
  CHECK_FALSE(RecordId::FromBytes(std::string(17, 'a'), &back));
  CHECK_FALSE(RecordId::FromBytes("", &back));
  CHECK(back == id);  // untouched on failure
}

constexpr const char* kCursor =
    "s=739ad463348b4ceca5a9e69c95a3c93f;i=4ece7;b=6c7c6013a8b34d2a8d4b8e4e5f4c0a1b;m=2a4c3f1;t=5f7a1b2c3d4e5;"
    "x=f0a1b2c3d4e5f607";

TEST_CASE("record id: a journal entry's id depends only on agent and cursor, and is pinned") {
  CHECK(JournalRecordId("web-01", kCursor) == JournalRecordId("web-01", std::string(kCursor)));
  // "logship.journal.v1" | u64le len(agent) | agent | u64le len(cursor) | cursor; computed independently.
  CHECK(JournalRecordId("web-01", kCursor).ToUuid() == "387c418b-8ffd-4097-13b2-6d030fbbb610");
  CHECK(!(JournalRecordId("web-02", kCursor) == JournalRecordId("web-01", kCursor)));
  std::string other = kCursor;
  other.back() = '8';
  CHECK(!(JournalRecordId("web-01", other) == JournalRecordId("web-01", kCursor)));
  // Lengths are encoded, so moving bytes between agent and cursor cannot alias.
  CHECK(!(JournalRecordId("ab", "c") == JournalRecordId("a", "bc")));
}

TEST_CASE("record id: file and journal ids live in separate key spaces") {
  CHECK(!(JournalRecordId("web-01", "") == FileRecordId("web-01", FilePosition{})));
}

}  // namespace
}  // namespace logship
