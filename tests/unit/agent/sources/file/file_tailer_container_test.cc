// The file tailer with `format: cri | docker`: decoded messages keep position-based ids and
// checkpoints, so a restart between pieces neither loses nor repeats a line.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include "tests/unit/agent/sources/file/file_tailer_test_util.h"

namespace logship::agent {
namespace {

using namespace test_util;

const std::string kId = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

std::string Attr(const Captured& r, const std::string& key) {
  for (const auto& [k, v] : r.record_attributes)
    if (k == key) return v;
  return "<none>";
}

TEST_CASE("file tailer, CRI: messages with stream, event time and the path's Kubernetes metadata") {
  TempDir dir;
  REQUIRE(::mkdir(dir.File("containers").c_str(), 0755) == 0);
  const std::string path = dir.File("containers/web-1_shop_nginx-" + kId + ".log");
  const std::string l1 = "2026-11-29T10:00:00Z stdout F GET /\n";
  const std::string l2 = "2026-11-29T10:00:01Z stderr P long \n";
  testing::WriteFile(path, l1 + l2 + "2026-11-29T10:00:02Z stderr F line\n");
  TailerOptions options;
  options.format = ContainerFormat::kCri;
  auto t = OpenTailer(path, options);
  REQUIRE(t->Identify());
  RecordingEmitter out;
  const Attributes attrs{{"service", "shop"}};
  ReadAll(*t, out, "agent-1", &attrs);
  REQUIRE(out.Bodies() == std::vector<std::string>{"GET /", "long line"});
  CHECK(out.records[0].time_unix_nano == 1795946400000000000LL);
  CHECK(Attr(out.records[0], "log.iostream") == "stdout");
  CHECK(Attr(out.records[1], "log.iostream") == "stderr");
  CHECK(Attr(out.records[1], "logship.format_error") == "<none>");
  CHECK(out.records[1].id == IdAt(*t, l1.size()));
  REQUIRE(out.records[0].attributes != nullptr);
  const Attributes& a = *out.records[0].attributes;
  REQUIRE(a.size() == 5);
  CHECK(a[0] == std::pair<std::string, std::string>{"service", "shop"});
  CHECK(a[1] == std::pair<std::string, std::string>{"k8s.pod.name", "web-1"});
  CHECK(a[4] == std::pair<std::string, std::string>{"container.id", kId});
}

TEST_CASE("file tailer, CRI: a restart between pieces reads the whole message again, with its id") {
  TempDir dir;
  const std::string path = dir.File("c.log");
  const std::string head = "2026-11-29T10:00:00Z stdout F first\n";
  const std::string piece = "2026-11-29T10:00:01Z stdout P half \n";
  testing::WriteFile(path, head + piece);
  TailerOptions options;
  options.format = ContainerFormat::kCri;
  auto t = OpenTailer(path, options);
  REQUIRE(t->Identify());
  RecordingEmitter out;
  ReadAll(*t, out);
  REQUIRE(out.Bodies() == std::vector<std::string>{"first"});
  const FilePosition checkpoint = out.records.back().next_position;
  CHECK(checkpoint.offset == head.size());  // not past the pending piece

  // A new agent resumes at the checkpoint; the F line came meanwhile.
  testing::AppendFile(path, "2026-11-29T10:00:02Z stdout F done\n");
  auto again = OpenTailer(path, options);
  REQUIRE(again->Identify());
  again->SeekTo(checkpoint.offset);
  RecordingEmitter out2;
  ReadAll(*again, out2);
  REQUIRE(out2.Bodies() == std::vector<std::string>{"half done"});
  CHECK(out2.records[0].id == IdAt(*again, head.size()));
}

TEST_CASE("file tailer, CRI: FlushAll decodes an unterminated last line and ships a message cut by rotation") {
  TempDir dir;
  const std::string path = dir.File("c.log");
  testing::WriteFile(path, "2026-11-29T10:00:00Z stdout P cut by \n2026-11-29T10:00:01Z stdout P rotation");
  TailerOptions options;
  options.format = ContainerFormat::kCri;
  auto t = OpenTailer(path, options);
  REQUIRE(t->Identify());
  RecordingEmitter out;
  ReadAll(*t, out);
  CHECK(out.records.empty());
  t->FlushAll(nullptr, out);
  REQUIRE(out.Bodies() == std::vector<std::string>{"cut by rotation"});
  CHECK(out.records[0].flags == kPartial);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK(out.records[0].next_position.offset == static_cast<uint64_t>(st.st_size));
}

TEST_CASE("file tailer, Docker: multi-line grouping runs on the decoded messages") {
  TempDir dir;
  const std::string path = dir.File("d.log");
  testing::WriteFile(path,
                     "{\"log\":\"Exception: boom\\n\",\"stream\":\"stderr\",\"time\":\"2026-11-29T10:00:00Z\"}\n"
                     "{\"log\":\"\\tat a.b(C.java:1)\\n\",\"stream\":\"stderr\",\"time\":\"2026-11-29T10:00:01Z\"}\n"
                     "{\"log\":\"Next\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-29T10:00:02Z\"}\n"
                     "Not json\n");
  MultilineOptions ml;
  ml.start_pattern = std::make_shared<RE2>("^[A-Z]");
  TailerOptions options;
  options.format = ContainerFormat::kDocker;
  options.multiline = &ml;
  auto t = OpenTailer(path, options);
  REQUIRE(t->Identify());
  RecordingEmitter out;
  ReadAll(*t, out);
  t->FlushAll(nullptr, out);
  REQUIRE(out.Bodies() == std::vector<std::string>{"Exception: boom\n\tat a.b(C.java:1)", "Next", "Not json"});
  CHECK(out.records[0].time_unix_nano == 1795946400000000000LL);
  CHECK(Attr(out.records[0], "log.iostream") == "stderr");
  CHECK(Attr(out.records[2], "logship.format_error") != "<none>");
}

}  // namespace
}  // namespace logship::agent
