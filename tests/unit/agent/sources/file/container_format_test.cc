#include "agent/sources/file/container_format.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "logship/v1/record.pb.h"

namespace logship::agent {
namespace {

constexpr uint32_t kPartial = logship::v1::LogRecord::FLAG_PARTIAL;
constexpr uint32_t kLast = logship::v1::LogRecord::FLAG_LAST_PART;

struct Out {
  std::string body;
  uint64_t offset, next;
  uint32_t flags;
  LineMeta meta;
  std::string raw_tail;  // meta.raw_tail's view dies with the call
};

// Feeds `text` line by line (offsets as in the file) and collects what comes out.
struct Harness {
  ContainerDecoder decoder;
  std::vector<Out> out;
  uint64_t pos = 0;
  explicit Harness(ContainerFormat f, uint64_t max = 1 << 20) : decoder(f, max) {}
  ContainerDecoder::EmitFn Emit() {
    return [this](std::string_view b, uint64_t o, uint64_t n, uint32_t f, const LineMeta& m) {
      out.push_back({std::string(b), o, n, f, m, std::string(m.raw_tail)});
    };
  }
  void Feed(const std::string& text) {
    size_t start = 0;
    while (start < text.size()) {
      const size_t nl = text.find('\n', start);
      REQUIRE(nl != std::string::npos);
      decoder.Add(std::string_view(text).substr(start, nl - start), pos + start, pos + nl + 1, 0, Emit());
      start = nl + 1;
    }
    pos += text.size();
  }
};

TEST_CASE("CRI: F lines are messages; P pieces join up to their F line, id at the first piece") {
  Harness h(ContainerFormat::kCri);
  const std::string a = "2026-11-29T10:00:00.123456789Z stdout F hello world\n";
  const std::string p1 = "2026-11-29T10:00:01Z stderr P first \n";
  const std::string p2 = "2026-11-29T10:00:02Z stderr P second \n";
  const std::string f = "2026-11-29T10:00:03Z stderr F third\n";
  h.Feed(a + p1 + p2 + f);
  REQUIRE(h.out.size() == 2);
  CHECK(h.out[0].body == "hello world");
  CHECK(h.out[0].offset == 0);
  CHECK(h.out[0].next == a.size());
  CHECK(h.out[0].flags == 0);
  CHECK(h.out[0].meta.stream == "stdout");
  CHECK(h.out[0].meta.time_unix_nano == 1795946400123456789LL);
  CHECK(h.out[0].meta.error.empty());
  CHECK(h.out[1].body == "first second third");
  CHECK(h.out[1].offset == a.size());
  CHECK(h.out[1].next == a.size() + p1.size() + p2.size() + f.size());
  CHECK(h.out[1].meta.stream == "stderr");
  CHECK(h.out[1].meta.time_unix_nano == 1795946401000000000LL);  // the first piece's
  CHECK_FALSE(h.decoder.pending());
  // The checkpoint's check bytes are the file's, not the decoded body's.
  CHECK(h.out[0].raw_tail == a.substr(a.size() - 32));
  CHECK(h.out[1].raw_tail == f.substr(f.size() - 32));
}

TEST_CASE("CRI: an empty message, tags with ':' and a message holding spaces and tabs") {
  Harness h(ContainerFormat::kCri);
  h.Feed("2026-11-29T10:00:00Z stdout F\n2026-11-29T10:00:00Z stdout F:x a  b\tc \n");
  REQUIRE(h.out.size() == 2);
  CHECK(h.out[0].body.empty());
  CHECK(h.out[1].body == "a  b\tc ");
}

TEST_CASE("a line not in the format is shipped whole with the reason; a pending message goes first") {
  Harness h(ContainerFormat::kCri);
  h.Feed("2026-11-29T10:00:00Z stdout P half\nnot a cri line\n2026-11-29T10:00:00Z stdin F x\n"
         "yesterday stdout F x\n2026-11-29T10:00:00Z stdout Q x\n");
  REQUIRE(h.out.size() == 5);
  CHECK(h.out[0].body == "half");
  CHECK(h.out[0].flags == kPartial);
  CHECK(h.out[1].body == "not a cri line");
  CHECK_FALSE(h.out[1].meta.error.empty());
  CHECK(h.out[1].meta.stream.empty());
  for (size_t i = 2; i < 5; ++i) CHECK_FALSE(h.out[i].meta.error.empty());
  CHECK(h.out[4].body == "2026-11-29T10:00:00Z stdout Q x");
}

TEST_CASE("pieces of the other stream between P and F: the pending piece goes out alone, nothing lost") {
  Harness h(ContainerFormat::kCri);
  h.Feed("2026-11-29T10:00:00Z stdout P out-1 \n2026-11-29T10:00:00Z stderr F err\n"
         "2026-11-29T10:00:00Z stdout F out-2\n");
  REQUIRE(h.out.size() == 3);
  CHECK(h.out[0].body == "out-1 ");
  CHECK(h.out[0].flags == kPartial);
  CHECK(h.out[1].body == "err");
  CHECK(h.out[2].body == "out-2");
}

TEST_CASE("a joined message over max_bytes is cut between pieces into flagged parts") {
  Harness h(ContainerFormat::kCri, 10);
  h.Feed("2026-11-29T10:00:00Z stdout P 123456\n2026-11-29T10:00:00Z stdout P 789012\n"
         "2026-11-29T10:00:00Z stdout F 345\n");
  REQUIRE(h.out.size() == 2);
  CHECK(h.out[0].body == "123456");
  CHECK(h.out[0].flags == kPartial);
  CHECK(h.out[1].body == "789012345");
  CHECK(h.out[1].flags == (kPartial | kLast));
  CHECK(h.out[1].offset == h.out[0].next);  // the parts tile the file: no byte twice, none skipped
}

TEST_CASE("Flush emits a message whose last piece never came (rotation mid-line)") {
  Harness h(ContainerFormat::kCri);
  h.Feed("2026-11-29T10:00:00Z stdout P never \n2026-11-29T10:00:00Z stdout P ends\n");
  CHECK(h.out.empty());
  CHECK(h.decoder.pending());
  h.decoder.Flush(h.Emit());
  REQUIRE(h.out.size() == 1);
  CHECK(h.out[0].body == "never ends");
  CHECK(h.out[0].flags == kPartial);
  h.decoder.Flush(h.Emit());
  CHECK(h.out.size() == 1);
}

TEST_CASE("Docker json-file: log strings unescaped, split 16 KiB lines joined, stream and time kept") {
  Harness h(ContainerFormat::kDocker);
  h.Feed(R"({"log":"hello \"w\"\tx\n","stream":"stdout","time":"2026-11-29T10:00:00.5Z"})" "\n"
         R"({"log":"part one ","stream":"stderr","time":"2026-11-29T10:00:01Z"})" "\n"
         R"({"log":"part two\n","stream":"stderr","time":"2026-11-29T10:00:02Z"})" "\n"
         R"({"log":"no time\n","stream":"stdout","time":"soon"})" "\n");
  REQUIRE(h.out.size() == 3);
  CHECK(h.out[0].body == "hello \"w\"\tx");
  CHECK(h.out[0].meta.stream == "stdout");
  CHECK(h.out[0].meta.time_unix_nano == 1795946400500000000LL);
  CHECK(h.out[1].body == "part one part two");
  CHECK(h.out[1].meta.stream == "stderr");
  CHECK(h.out[1].meta.time_unix_nano == 1795946401000000000LL);
  CHECK(h.out[2].body == "no time");
  CHECK(h.out[2].meta.time_unix_nano == 0);
  CHECK(h.out[2].meta.error.empty());
}

TEST_CASE("Docker json-file: invalid JSON, no log string, trailing garbage: shipped whole, with the reason") {
  Harness h(ContainerFormat::kDocker);
  h.Feed("{\"log\":\"cut\n{\"stream\":\"stdout\"}\n{\"log\":7}\n{\"log\":\"x\\n\"} tail\n[]\n");
  REQUIRE(h.out.size() == 5);
  for (const auto& o : h.out) CHECK_FALSE(o.meta.error.empty());
  CHECK(h.out[0].body == "{\"log\":\"cut");
}

TEST_CASE("auto decodes CRI and Docker lines side by side; other lines keep their bytes") {
  Harness h(ContainerFormat::kAuto);
  h.Feed("2026-11-29T10:00:00Z stdout F cri\n{\"log\":\"docker\\n\",\"stream\":\"stderr\"}\nplain\n");
  REQUIRE(h.out.size() == 3);
  CHECK(h.out[0].body == "cri");
  CHECK(h.out[1].body == "docker");
  CHECK(h.out[1].meta.stream == "stderr");
  CHECK(h.out[2].body == "plain");
  CHECK_FALSE(h.out[2].meta.error.empty());
}

TEST_CASE("a part of an over-long physical line is shipped undecoded, flags kept") {
  Harness h(ContainerFormat::kCri);
  h.decoder.Add("2026-11-29T10:00:00Z stdout F abc", 0, 33, kPartial, h.Emit());
  REQUIRE(h.out.size() == 1);
  CHECK(h.out[0].flags == kPartial);
  CHECK(h.out[0].body == "2026-11-29T10:00:00Z stdout F abc");
  CHECK_FALSE(h.out[0].meta.error.empty());
}

}  // namespace
}  // namespace logship::agent
