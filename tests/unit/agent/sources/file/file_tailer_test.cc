#include "agent/sources/file/file_tailer.h"

#include <doctest/doctest.h>

#include "tests/unit/agent/sources/file/file_tailer_test_util.h"

namespace logship::agent {
namespace {

using namespace test_util;

TEST_CASE("file tailer: lines are split on newline with ids and next positions from their offsets") {
  TempDir dir;
  const std::string path = dir.File("app.log");
  testing::WriteFile(path, "first\nsecond line\n\nlast\n");
  auto t = OpenTailer(path);
  REQUIRE(t->Identify());
  RecordingEmitter out;
  const Attributes attrs{{"service", "app"}};
  CHECK(ReadAll(*t, out, "agent-1", &attrs) == FileTailer::ReadOutcome::kEof);
  REQUIRE(out.Bodies() == std::vector<std::string>{"first", "second line", "", "last"});
  const std::vector<uint64_t> starts{0, 6, 18, 19};
  const std::vector<uint64_t> nexts{6, 18, 19, 24};
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  for (size_t i = 0; i < out.records.size(); ++i) {
    const Captured& r = out.records[i];
    CHECK(r.id == IdAt(*t, starts[i]));
    CHECK(r.next_position.offset == nexts[i]);
    CHECK(r.next_position.device == static_cast<uint64_t>(st.st_dev));
    CHECK(r.next_position.inode == static_cast<uint64_t>(st.st_ino));
    CHECK(r.next_position.fingerprint == t->fingerprint());
    CHECK(r.flags == 0u);
    CHECK(r.source_id == 7u);
    CHECK(r.source_name == path);
    CHECK(r.attributes == &attrs);
    CHECK(r.observed_unix_nano > 0);
  }
  CHECK(t->read_offset() == 24u);
}

TEST_CASE("file tailer: a partial last line waits for its newline") {
  TempDir dir;
  const std::string path = dir.File("app.log");
  testing::WriteFile(path, "one\ntw");
  auto t = OpenTailer(path);
  REQUIRE(t->Identify());
  RecordingEmitter out;
  ReadAll(*t, out);
  CHECK(out.Bodies() == std::vector<std::string>{"one"});
  CHECK(out.records.back().next_position.offset == 4u);

  testing::AppendFile(path, "o");
  ReadAll(*t, out);
  CHECK(out.records.size() == 1);  // still no newline

  testing::AppendFile(path, "\nthree\n");
  ReadAll(*t, out);
  REQUIRE(out.Bodies() == std::vector<std::string>{"one", "two", "three"});
  CHECK(out.records[1].id == IdAt(*t, 4));  // id of the line's first byte, not of the read
  CHECK(out.records[1].next_position.offset == 8u);
  CHECK(out.records[2].id == IdAt(*t, 8));
  CHECK(out.records[2].next_position.offset == 14u);
}

TEST_CASE("file tailer: CRLF line endings keep the carriage return in the body") {
  TempDir dir;
  const std::string path = dir.File("win.log");
  testing::WriteFile(path, "a\r\nb\r\n");
  auto t = OpenTailer(path);
  REQUIRE(t->Identify());
  RecordingEmitter out;
  ReadAll(*t, out);
  CHECK(out.Bodies() == std::vector<std::string>{"a\r", "b\r"});
  CHECK(out.records[1].next_position.offset == 6u);
}

TEST_CASE("file tailer: bytes are passed through untouched, including NUL and invalid UTF-8") {
  TempDir dir;
  const std::string path = dir.File("bin.log");
  const std::string line("x\0y\xff\xfe z", 7);
  testing::WriteFile(path, line + "\n");
  auto t = OpenTailer(path);
  REQUIRE(t->Identify());
  RecordingEmitter out;
  ReadAll(*t, out);
  REQUIRE(out.records.size() == 1);
  CHECK(out.records[0].body == line);
}

TEST_CASE("file tailer: a line longer than max_line_bytes is emitted as flagged parts") {
  TempDir dir;
  const std::string path = dir.File("long.log");
  std::string long_line;
  for (int i = 0; i < 25; ++i) long_line.push_back(static_cast<char>('a' + i));
  testing::WriteFile(path, "short\n" + long_line + "\nafter\n");
  TailerOptions opt;
  opt.max_line_bytes = 10;
  auto t = OpenTailer(path, opt);
  REQUIRE(t->Identify());
  RecordingEmitter out;
  ReadAll(*t, out);
  REQUIRE(out.Bodies() == std::vector<std::string>{"short", long_line.substr(0, 10), long_line.substr(10, 10),
                                                   long_line.substr(20), "after"});
  CHECK(out.records[0].flags == 0u);
  CHECK(out.records[1].flags == kPartial);
  CHECK(out.records[2].flags == kPartial);
  CHECK(out.records[3].flags == (kPartial | kLastPart));
  CHECK(out.records[4].flags == 0u);
  // Each part has the id of its own first byte; positions advance through the line.
  CHECK(out.records[1].id == IdAt(*t, 6));
  CHECK(out.records[2].id == IdAt(*t, 16));
  CHECK(out.records[3].id == IdAt(*t, 26));
  CHECK(out.records[1].next_position.offset == 16u);
  CHECK(out.records[2].next_position.offset == 26u);
  CHECK(out.records[3].next_position.offset == 32u);  // past the newline
  CHECK(out.records[4].id == IdAt(*t, 32));
  CHECK(out.records[4].next_position.offset == 38u);
  CHECK(out.records[1].body + out.records[2].body + out.records[3].body == long_line);
}

TEST_CASE("file tailer: a line of exactly max_line_bytes is not split") {
  TempDir dir;
  const std::string path = dir.File("exact.log");
  testing::WriteFile(path, std::string(10, 'x') + "\n" + std::string(20, 'y') + "\n");
  TailerOptions opt;
  opt.max_line_bytes = 10;
  auto t = OpenTailer(path, opt);
  REQUIRE(t->Identify());
  RecordingEmitter out;
  ReadAll(*t, out);
  REQUIRE(out.records.size() == 3);
  CHECK(out.records[0].body == std::string(10, 'x'));
  CHECK(out.records[0].flags == 0u);
  CHECK(out.records[1].flags == kPartial);
  CHECK(out.records[2].flags == (kPartial | kLastPart));
  CHECK(out.records[2].body == std::string(10, 'y'));
}

// Reassembles lines from records: whole lines as they are, parts concatenated up to the last.
std::vector<std::string> Reassemble(const std::vector<Captured>& records) {
  std::vector<std::string> lines;
  std::string pending;
  bool in_split = false;
  for (const auto& r : records) {
    if (r.flags & kPartial) {
      REQUIRE(!r.body.empty());
      pending += r.body;
      in_split = true;
      if (r.flags & kLastPart) {
        lines.push_back(pending);
        pending.clear();
        in_split = false;
      }
    } else {
      REQUIRE_FALSE(in_split);
      lines.push_back(r.body);
    }
  }
  REQUIRE_FALSE(in_split);
  return lines;
}

TEST_CASE("file tailer: lines survive any read chunk size and arrival pattern unchanged") {
  std::string content;
  std::vector<std::string> lines;
  for (int i = 0; i < 40; ++i) {
    std::string line(static_cast<size_t>((i * 7) % 23), static_cast<char>('A' + i % 26));
    lines.push_back(line);
    content += line + "\n";
  }
  for (size_t chunk : {size_t{1}, size_t{3}, size_t{7}, size_t{10}, size_t{11}, size_t{64}}) {
    for (size_t arrive : {size_t{5}, size_t{13}, content.size()}) {
      CAPTURE(chunk);
      CAPTURE(arrive);
      TempDir dir;
      const std::string path = dir.File("x.log");
      testing::WriteFile(path, "");
      TailerOptions opt;
      opt.max_line_bytes = 10;
      opt.read_chunk = chunk;
      std::unique_ptr<FileTailer> t;
      RecordingEmitter out;
      for (size_t off = 0; off < content.size(); off += arrive) {
        testing::AppendFile(path, content.substr(off, arrive));
        if (!t) t = OpenTailer(path, opt);
        if (t->Identify()) ReadAll(*t, out);
      }
      REQUIRE(t->Identify());
      ReadAll(*t, out);
      CHECK(Reassemble(out.records) == lines);
      // Offsets chain: each record starts where the previous one's next_position ended.
      uint64_t expect = 0;
      for (const auto& r : out.records) {
        CHECK(r.id == IdAt(*t, expect));
        CHECK(r.next_position.offset > expect);
        expect = r.next_position.offset;
      }
      CHECK(expect == content.size());
    }
  }
}

TEST_CASE("file tailer: two tailers reading the same file produce the same record ids") {
  TempDir dir;
  const std::string path = dir.File("same.log");
  testing::WriteFile(path, "alpha\nbeta\ngamma\n");
  TailerOptions small;
  small.read_chunk = 4;
  auto a = OpenTailer(path, {}, 1);
  auto b = OpenTailer(path, small, 2);
  REQUIRE(a->Identify());
  REQUIRE(b->Identify());
  RecordingEmitter ra, rb;
  ReadAll(*a, ra);
  ReadAll(*b, rb);
  REQUIRE(ra.records.size() == 3);
  REQUIRE(rb.records.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(ra.records[i].id == rb.records[i].id);
    CHECK(ra.records[i].next_position.offset == rb.records[i].next_position.offset);
  }
  // Ids differ between lines and between agents.
  CHECK_FALSE(ra.records[0].id == ra.records[1].id);
  auto c = OpenTailer(path);
  REQUIRE(c->Identify());
  RecordingEmitter rc;
  ReadAll(*c, rc, "agent-2");
  CHECK_FALSE(rc.records[0].id == ra.records[0].id);
}

TEST_CASE("file tailer: a seek to a checkpoint resumes with the same ids") {
  TempDir dir;
  const std::string path = dir.File("resume.log");
  testing::WriteFile(path, "alpha\nbeta\ngamma\n");
  auto a = OpenTailer(path);
  REQUIRE(a->Identify());
  RecordingEmitter ra;
  ReadAll(*a, ra);
  auto b = OpenTailer(path);
  REQUIRE(b->Identify());
  b->SeekTo(ra.records[0].next_position.offset);
  RecordingEmitter rb;
  ReadAll(*b, rb);
  REQUIRE(rb.Bodies() == std::vector<std::string>{"beta", "gamma"});
  CHECK(rb.records[0].id == ra.records[1].id);
  CHECK(rb.records[1].id == ra.records[2].id);
}

}  // namespace
}  // namespace logship::agent
