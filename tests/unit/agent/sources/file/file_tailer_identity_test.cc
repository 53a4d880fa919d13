#include "agent/sources/file/file_tailer.h"

#include <doctest/doctest.h>

#include "tests/unit/agent/sources/file/file_tailer_test_util.h"

namespace logship::agent {
namespace {

using namespace test_util;

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

namespace logship::agent {
namespace {

// An agent starved of CPU past the multi-line timeout must not cut an event whose
// continuation lines were already in the file (torture seed 353956549 under load 5).
TEST_CASE("file tailer: the multi-line timeout does not cut an event while the file holds unread lines") {
  testing::TempDir dir;
  const std::string path = dir.File("ml.log");
  testing::WriteFile(path, "2026 start\n");
  MultilineOptions ml;
  ml.start_pattern = std::make_shared<RE2>("^\\d{4} ");
  ml.timeout_ns = 1'000'000;  // 1 ms
  TailerOptions opt;
  opt.multiline = &ml;
  auto t = test_util::OpenTailer(path, opt);
  REQUIRE(t->Identify());
  test_util::RecordingEmitter out;
  test_util::ReadAll(*t, out);
  testing::AppendFile(path, "  at frame 1\n");  // written, not read yet
  usleep(5000);
  t->FlushPending(/*force=*/false, nullptr, out);
  CHECK(out.records.empty());
  test_util::ReadAll(*t, out);
  usleep(5000);
  t->FlushPending(/*force=*/false, nullptr, out);  // all read: now the timeout applies
  REQUIRE(out.Bodies() == std::vector<std::string>{"2026 start\n  at frame 1"});
}

}  // namespace
}  // namespace logship::agent
