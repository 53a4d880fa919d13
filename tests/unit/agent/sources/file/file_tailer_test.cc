#include "agent/sources/file/file_tailer.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "logship/v1/record.pb.h"
#include "tests/unit/testing/temp_dir.h"

namespace logship::agent {
namespace {

using testing::TempDir;
constexpr uint32_t kPartial = logship::v1::LogRecord::FLAG_PARTIAL;
constexpr uint32_t kLastPart = logship::v1::LogRecord::FLAG_LAST_PART;

// A LineRecord with owned copies of its views.
struct Captured {
  uint64_t source_id = 0;
  std::string source_name;
  const Attributes* attributes = nullptr;
  std::string body;
  RecordId id;
  int64_t observed_unix_nano = 0;
  uint32_t flags = 0;
  FilePosition next_position;
};

class RecordingEmitter : public Emitter {
 public:
  void Emit(const LineRecord& r) override {
    // The id the collector derives from the record's start position.
    records.push_back(Captured{r.source_id, std::string(r.source_name), r.attributes, std::string(r.body),
                               FileRecordId(agent, r.start_position), r.observed_unix_nano, r.flags,
                               r.next_position});
  }
  bool Accepting() const override { return accepting; }
  void PositionsMoved(PositionTracker&) override {}
  void ApplyNow(std::string_view, std::string) override {}

  std::vector<std::string> Bodies() const {
    std::vector<std::string> out;
    for (const auto& r : records) out.push_back(r.body);
    return out;
  }
  std::vector<Captured> records;
  bool accepting = true;
  std::string agent = "agent-1";
};

std::unique_ptr<FileTailer> OpenTailer(const std::string& path, TailerOptions options = {}, uint64_t source_id = 7) {
  auto r = FileTailer::Open(path, source_id, options);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  return std::move(r).value();
}

FileTailer::ReadOutcome ReadAll(FileTailer& t, RecordingEmitter& out, const std::string& agent = "agent-1",
                                const Attributes* attrs = nullptr) {
  FileTailer::ReadOutcome o;
  out.agent = agent;
  do {
    o = t.ReadSome(1 << 20, attrs, out);
  } while (o == FileTailer::ReadOutcome::kMore);
  return o;
}

RecordId IdAt(const FileTailer& t, uint64_t offset, const std::string& agent = "agent-1") {
  return FileRecordId(agent, FilePosition{t.device(), t.inode(), t.fingerprint(), offset, t.generation()});
}

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

TEST_CASE("file tailer: a file has no identity while empty or without a complete first line") {
  TempDir dir;
  const std::string path = dir.File("new.log");
  testing::WriteFile(path, "");
  TailerOptions opt;
  opt.fingerprint_bytes = 16;
  auto t = OpenTailer(path, opt);
  CHECK_FALSE(t->Identify());
  CHECK_FALSE(t->identified());
  testing::AppendFile(path, "partial");  // 7 bytes < 16, no newline
  CHECK_FALSE(t->Identify());
  testing::AppendFile(path, " line\n");
  CHECK(t->Identify());
  CHECK(t->identified());
}

TEST_CASE("file tailer: a long first line without newline is identified by its first fingerprint_bytes") {
  TempDir dir;
  const std::string path = dir.File("long-first.log");
  testing::WriteFile(path, std::string(16, 'z'));
  TailerOptions opt;
  opt.fingerprint_bytes = 16;
  auto t = OpenTailer(path, opt);
  CHECK(t->Identify());
}

TEST_CASE("file tailer: the fingerprint depends on the first line only, not on how far the file grew") {
  TempDir dir;
  const std::string p1 = dir.File("a.log"), p2 = dir.File("b.log"), p3 = dir.File("c.log");
  testing::WriteFile(p1, "header line\n");
  testing::WriteFile(p2, "header line\nmore\nand more\n");
  testing::WriteFile(p3, "other header\n");
  auto t1 = OpenTailer(p1), t2 = OpenTailer(p2), t3 = OpenTailer(p3);
  REQUIRE(t1->Identify());
  REQUIRE(t2->Identify());
  REQUIRE(t3->Identify());
  CHECK(t1->fingerprint() == t2->fingerprint());
  CHECK(t1->fingerprint() != t3->fingerprint());
  CHECK(t1->inode() != t2->inode());  // identity still differs by inode
}

TEST_CASE("file tailer: truncation below the read position is detected and reset starts over") {
  TempDir dir;
  const std::string path = dir.File("trunc.log");
  testing::WriteFile(path, "line one\nline two\n");
  auto t = OpenTailer(path);
  REQUIRE(t->Identify());
  RecordingEmitter out;
  ReadAll(*t, out);
  CHECK_FALSE(t->Truncated());
  testing::AppendFile(path, "line three\n");
  CHECK_FALSE(t->Truncated());  // growth is not truncation
  REQUIRE(::truncate(path.c_str(), 0) == 0);
  CHECK(t->Truncated());
  t->ResetAfterTruncation();
  CHECK_FALSE(t->identified());
  CHECK(t->read_offset() == 0u);
  CHECK_FALSE(t->Truncated());
  testing::AppendFile(path, "fresh\n");
  REQUIRE(t->Identify());
  RecordingEmitter again;
  ReadAll(*t, again);
  CHECK(again.Bodies() == std::vector<std::string>{"fresh"});
  CHECK(again.records[0].id == IdAt(*t, 0));
}

TEST_CASE("file tailer: reading stops early when the emitter stops accepting") {
  TempDir dir;
  const std::string path = dir.File("pause.log");
  std::string content;
  for (int i = 0; i < 100; ++i) content += "line " + std::to_string(i) + "\n";
  testing::WriteFile(path, content);
  TailerOptions opt;
  opt.read_chunk = 64;
  auto t = OpenTailer(path, opt);
  REQUIRE(t->Identify());
  RecordingEmitter out;
  out.accepting = false;
  CHECK(t->ReadSome(1 << 20, nullptr, out) == FileTailer::ReadOutcome::kMore);
  CHECK(t->read_offset() < content.size());
  const size_t first = out.records.size();
  CHECK(first > 0);
  out.accepting = true;
  ReadAll(*t, out);
  CHECK(out.records.size() == 100);
  CHECK(out.records[first].id == IdAt(*t, out.records[first - 1].next_position.offset));
}

TEST_CASE("file tailer: opening a missing file is NotFound") {
  auto r = FileTailer::Open("/nonexistent/dir/file.log", 1, {});
  CHECK(r.status().code() == Status::Code::kNotFound);
}

}  // namespace
}  // namespace logship::agent

namespace logship::agent {
namespace {

TEST_CASE("file tailer: copytruncate under a constant header is a new generation with new ids") {
  TempDir dir;
  const std::string path = dir.File("w3c.log");
  testing::WriteFile(path, "#Fields: date time cs-uri\n2026-01-01 00:00:01 /a\n2026-01-01 00:00:02 /b\n");
  auto t = OpenTailer(path);
  REQUIRE(t->Identify());
  RecordingEmitter first;
  ReadAll(*t, first);
  REQUIRE(first.records.size() == 3);
  const uint64_t old_fingerprint = t->fingerprint();
  // copytruncate: same header, new lines, the same sizes line for line.
  REQUIRE(::truncate(path.c_str(), 0) == 0);
  testing::AppendFile(path, "#Fields: date time cs-uri\n2026-01-01 00:00:03 /c\n");
  CHECK(t->ContentChanged() != nullptr);
  t->FlushAll(nullptr, first);
  t->ResetAfterTruncation();
  REQUIRE(t->Identify());
  CHECK(t->fingerprint() == old_fingerprint);
  CHECK(t->generation() == 1u);
  RecordingEmitter second;
  ReadAll(*t, second);
  REQUIRE(second.Bodies() == std::vector<std::string>{"#Fields: date time cs-uri", "2026-01-01 00:00:03 /c"});
  // The header at offset 0 and the line at offset 26 had ids in generation 0: not any more.
  CHECK(!(second.records[0].id == first.records[0].id));
  CHECK(!(second.records[1].id == first.records[1].id));
  CHECK(second.records[1].next_position.generation == 1u);
}

TEST_CASE("file tailer: a rewrite that grows past the read offset under the same first line is noticed") {
  TempDir dir;
  const std::string path = dir.File("grow.log");
  testing::WriteFile(path, "HEADER\naaaa\nbbbb\n");
  auto t = OpenTailer(path);
  REQUIRE(t->Identify());
  RecordingEmitter out;
  ReadAll(*t, out);
  CHECK(t->ContentChanged() == nullptr);
  testing::AppendFile(path, "cccc\n");
  CHECK(t->ContentChanged() == nullptr);  // growth is fine
  // Truncated and rewritten between two looks, past the old offset: only the bytes before
  // the read position tell.
  testing::WriteFile(path, "HEADER\nxxxxxxxxxx\nyyyyyyyy\n");
  const char* why = t->ContentChanged();
  REQUIRE(why != nullptr);
  CHECK(std::string(why).find("before the read position") != std::string::npos);
}

TEST_CASE("file tailer: FlushAll emits an unterminated last line and a pending multi-line event") {
  TempDir dir;
  const std::string path = dir.File("ml.log");
  testing::WriteFile(path, "2026 start\n  at frame 1\n  at frame 2\n");
  MultilineOptions ml;
  ml.start_pattern = std::make_shared<RE2>("^\\d{4} ");
  TailerOptions opt;
  opt.multiline = &ml;
  auto t = OpenTailer(path, opt);
  REQUIRE(t->Identify());
  RecordingEmitter out;
  ReadAll(*t, out);
  CHECK(out.records.empty());  // the event may go on
  t->FlushAll(nullptr, out);
  REQUIRE(out.Bodies() == std::vector<std::string>{"2026 start\n  at frame 1\n  at frame 2"});

  testing::AppendFile(path, "no newline yet");
  ReadAll(*t, out);
  CHECK(out.records.size() == 1u);  // waits for its newline
  t->FlushAll(nullptr, out);
  REQUIRE(out.records.size() == 2u);
  CHECK(out.records[1].body == "no newline yet");
  CHECK(out.records[1].next_position.offset == t->read_offset());
  CHECK(out.records[1].id == IdAt(*t, 37));
}

}  // namespace
}  // namespace logship::agent

namespace logship::agent {
namespace {

TEST_CASE("file tailer: nothing is read before the file has an identity (truncated to nothing, then written)") {
  TempDir dir;
  const std::string path = dir.File("t.log");
  testing::WriteFile(path, "old one\nold two\n");
  auto t = OpenTailer(path);
  REQUIRE(t->Identify());
  RecordingEmitter out;
  ReadAll(*t, out);
  REQUIRE(::truncate(path.c_str(), 0) == 0);
  t->FlushAll(nullptr, out);
  t->ResetAfterTruncation();
  CHECK_FALSE(t->Identify());  // empty: no first line yet
  testing::AppendFile(path, "new one\n");
  // Read now, these lines would carry no fingerprint, and again once identified: twice.
  RecordingEmitter early;
  CHECK(t->ReadSome(1 << 20, nullptr, early) == FileTailer::ReadOutcome::kEof);
  CHECK(early.records.empty());
  REQUIRE(t->Identify());
  ReadAll(*t, early);
  CHECK(early.Bodies() == std::vector<std::string>{"new one"});
  CHECK(early.records[0].id == IdAt(*t, 0));
}

}  // namespace
}  // namespace logship::agent
