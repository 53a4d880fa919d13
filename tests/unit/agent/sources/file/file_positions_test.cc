#include "agent/sources/file/file_positions.h"

#include <doctest/doctest.h>

#include <map>
#include <string>

#include "agent/sources/file/file_state.pb.h"

namespace logship::agent {
namespace {

// A plain line of `body` at `offset` (terminated by its newline) of the file (1, inode). The
// record views `path` and `body`.
LineRecord Line(uint64_t inode, const std::string& path, const std::string& body, uint64_t offset) {
  LineRecord r;
  r.source_name = path;
  r.body = body;
  r.start_position = FilePosition{1, inode, 7, offset, 0};
  r.next_position = FilePosition{1, inode, 7, offset + body.size() + 1, 0};
  return r;
}

std::map<uint64_t, v1::FileCheckpoint> Delta(FilePositions& positions) {
  std::string out;
  positions.TakeDelta(&out);
  file::v1::FileSourceState state;
  REQUIRE(state.ParseFromString(out));
  std::map<uint64_t, v1::FileCheckpoint> by_inode;
  for (const auto& f : state.files()) by_inode[f.inode()] = f;
  return by_inode;
}

}  // namespace

TEST_CASE("file positions: each file's entry holds where its last record ended and the bytes before it") {
  FilePositions positions("file:test");
  const std::string long_line(100, 'a'), last = std::string(60, 'b') + "END";
  positions.Advance(Line(10, "/var/log/a.log", long_line, 0));
  positions.Advance(Line(20, "/var/log/b.log", "short", 0));         // another file between
  positions.Advance(Line(10, "/var/log/a.log", long_line, 101));
  positions.Advance(Line(10, "/var/log/a.log.1", last, 202));       // renamed: same file
  positions.Advance(Line(20, "/var/log/b.log", "", 6));             // an empty line

  auto files = Delta(positions);
  REQUIRE(files.size() == 2u);
  const auto& a = files.at(10);
  CHECK(a.path() == "/var/log/a.log.1");
  CHECK(a.source() == "file:test");
  CHECK(a.offset() == 202 + last.size() + 1);
  CHECK(a.fingerprint() == 7u);
  CHECK(a.tail() == last.substr(last.size() - 31) + "\n");  // 32 bytes: the line's end and its newline
  const auto& b = files.at(20);
  CHECK(b.offset() == 7u);
  CHECK(b.tail() == "\n");
  CHECK(Delta(positions).empty());  // taken: nothing moved since
}

TEST_CASE("file positions: a decoded record's raw tail, and a position set after a record, win in order") {
  FilePositions positions("file:test");
  const std::string path = "/var/log/pods/x.log", body = "message";  // outlive the record's views
  LineRecord decoded = Line(10, path, body, 0);
  const std::string raw = "...\"log\":\"message\\n\",\"stream\":\"stdout\"}\n";  // the file's bytes
  decoded.next_position.offset = raw.size();
  decoded.position_tail = raw;
  positions.Advance(decoded);
  auto files = Delta(positions);
  REQUIRE(files.size() == 1u);
  CHECK(files.at(10).tail() == raw.substr(raw.size() - 32));

  positions.Advance(Line(10, "/var/log/a.log", "line", 100));
  v1::FileCheckpoint released;
  released.set_device(1);
  released.set_inode(10);
  released.set_offset(105);
  released.set_released_unix_nano(1234);
  positions.Set(released);  // the file was released after its last line
  files = Delta(positions);
  CHECK(files.at(10).released_unix_nano() == 1234);
  CHECK(files.at(10).source() == "file:test");

  positions.Set(released);
  positions.Advance(Line(10, "/var/log/a.log", "again", 105));  // a record after the Set moves it on
  files = Delta(positions);
  CHECK(files.at(10).released_unix_nano() == 0);
  CHECK(files.at(10).offset() == 111u);
  CHECK(files.at(10).tail() == "again\n");
}

}  // namespace logship::agent
