#include "agent/sources/syslog/frame_decoder.h"

#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "logship/v1/record.pb.h"
#include "tests/unit/testing/alloc_probe.h"

namespace logship::agent::syslog {
namespace {

constexpr uint32_t kPartial = logship::v1::LogRecord::FLAG_PARTIAL;
constexpr uint32_t kLast = logship::v1::LogRecord::FLAG_LAST_PART;

struct Got {
  std::string bytes;
  uint32_t flags;
  bool broken;
};

class Collect final : public FrameHandler {
 public:
  void OnFrame(const Frame& f) override { frames.push_back({std::string(f.bytes), f.flags, f.broken != nullptr}); }
  std::vector<std::string> Messages() const {
    std::vector<std::string> out;
    for (const auto& f : frames) out.push_back(f.bytes);
    return out;
  }
  std::vector<Got> frames;
};

// Feeds `stream` in pieces whose sizes come from `cuts` (cycled), then ends it.
std::vector<Got> Decode(std::string_view stream, size_t max, const std::vector<size_t>& cuts, Status* feed = nullptr,
                        Status* finish = nullptr) {
  FrameDecoder d(max);
  Collect c;
  Status fs;
  for (size_t off = 0, k = 0; off < stream.size() && fs.ok(); ++k) {
    const size_t n = std::min(cuts[k % cuts.size()], stream.size() - off);
    fs = d.Feed(stream.substr(off, n), c);
    off += n;
  }
  const Status end = fs.ok() ? d.Finish(c) : Status::Ok();
  if (feed != nullptr) *feed = fs;
  if (finish != nullptr) *finish = end;
  return c.frames;
}

std::string Counted(std::string_view msg) { return std::to_string(msg.size()) + " " + std::string(msg); }

TEST_CASE("frame decoder: octet-counted and LF frames mixed, across every chunk boundary") {
  const std::vector<std::string> messages = {
      "<13>1 - h app - - - first",
      "<13>1 - h app - - - has\nan LF inside, octet-counted",
      "<14>Oct 11 22:14:15 h t: LF framed",
      "2024-06-15 starts with digits but is no count",
      "12345678901 eleven digits: not a count",
      "<15>1 - - - - - - last, CRLF\r",
  };
  std::string stream = Counted(messages[0]) + Counted(messages[1]) + "\n" + messages[2] + "\n" + messages[3] + "\n" +
                       messages[4] + "\n" + Counted(messages[5]);
  // Every single split position, byte by byte, and a few random cuttings.
  std::vector<std::vector<size_t>> cuttings = {{1}, {2}, {3}, {7}, {stream.size()}};
  std::mt19937 rng(42);
  for (int i = 0; i < 50; ++i) {
    std::vector<size_t> cuts;
    for (int k = 0; k < 20; ++k) cuts.push_back(1 + rng() % 40);
    cuttings.push_back(cuts);
  }
  for (size_t split = 1; split < stream.size(); ++split) cuttings.push_back({split, stream.size()});
  for (const auto& cuts : cuttings) {
    CAPTURE(cuts[0]);
    const std::vector<Got> got = Decode(stream, 1024, cuts);
    REQUIRE(got.size() == messages.size());
    for (size_t i = 0; i < messages.size(); ++i) {
      CHECK(got[i].bytes == messages[i]);
      CHECK(got[i].flags == 0);
      CHECK_FALSE(got[i].broken);
    }
  }
}

TEST_CASE("frame decoder: an LF frame longer than the maximum comes out in flagged parts") {
  const std::string big(100, 'x');
  for (size_t cut : {1, 9, 33, 1000}) {
    CAPTURE(cut);
    const std::vector<Got> got = Decode(big + "\nshort\n" + std::string(64, 'y') + "\n", 32, {cut});
    REQUIRE(got.size() == 7);
    CHECK(got[0].bytes == std::string(32, 'x'));
    CHECK(got[0].flags == kPartial);
    CHECK(got[1].flags == kPartial);
    CHECK(got[2].flags == kPartial);
    CHECK(got[3].bytes == std::string(4, 'x'));
    CHECK(got[3].flags == (kPartial | kLast));
    CHECK(got[4].bytes == "short");
    CHECK(got[4].flags == 0);
    CHECK(got[5].bytes == std::string(32, 'y'));
    CHECK(got[5].flags == kPartial);
    CHECK(got[6].bytes == std::string(32, 'y'));  // no empty last part when the cut falls on the LF
    CHECK(got[6].flags == (kPartial | kLast));
  }
  // Exactly the maximum is a whole message, not a part.
  const std::vector<Got> got = Decode(std::string(32, 'z') + "\n", 32, {5});
  REQUIRE(got.size() == 1);
  CHECK(got[0].flags == 0);
}

TEST_CASE("frame decoder: an absurd octet count allocates nothing and breaks the stream") {
  for (const std::string count : {"99999999", "9999999999", "0"}) {
    CAPTURE(count);
    const std::string stream = "5 hello" + count + " <13>1 - - - - - - after the bad count";
    Status feed;
    std::vector<Got> got;
    size_t largest = 0;
    {
      testing::AllocProbe probe;
      got = Decode(stream, 1024, {stream.size()}, &feed);
      largest = probe.largest();
    }
    CHECK(largest < 4096);  // the count was never believed
    CHECK_FALSE(feed.ok());
    REQUIRE(got.size() == 2);
    CHECK(got[0].bytes == "hello");
    CHECK_FALSE(got[0].broken);
    CHECK(got[1].broken);  // what came from the bad frame on still ships, flagged
    CHECK(got[1].bytes == count + " <13>1 - - - - - - after the bad count");
  }
  // Over max_message_bytes is absurd too; the decoder refuses to be fed after that.
  FrameDecoder d(100);
  Collect c;
  CHECK_FALSE(d.Feed("101 x", c).ok());
  CHECK_FALSE(d.Feed("5 hello", c).ok());
  REQUIRE(c.frames.size() == 1);
  CHECK(c.frames[0].broken);
}

TEST_CASE("frame decoder: the end of the stream") {
  Status finish;
  // An LF frame without its LF is a message.
  std::vector<Got> got = Decode("<13>1 - - - - - - no LF at the end", 1024, {4}, nullptr, &finish);
  REQUIRE(got.size() == 1);
  CHECK(got[0].bytes == "<13>1 - - - - - - no LF at the end");
  CHECK(finish.ok());
  // An octet-counted frame cut short ships flagged, and is a framing error.
  got = Decode("30 <13>1 - - - - - - cut", 1024, {3}, nullptr, &finish);
  REQUIRE(got.size() == 1);
  CHECK(got[0].broken);
  CHECK(got[0].bytes == "<13>1 - - - - - - cut");
  CHECK_FALSE(finish.ok());
  // A lone number is a message too; blank lines and NULs between frames are no messages.
  got = Decode(std::string("\n\r\n\0\n42", 7), 1024, {1}, nullptr, &finish);
  REQUIRE(got.size() == 1);
  CHECK(got[0].bytes == "42");
  got = Decode(std::string("\n\0\n", 3), 1024, {1}, nullptr, &finish);
  CHECK(got.empty());
}

TEST_CASE("frame decoder: memory stays within max_message_bytes for any input") {
  std::mt19937 rng(7);
  const std::string alphabet = "0123456789 \n<>x\r";
  for (int round = 0; round < 200; ++round) {
    std::string stream;
    const size_t n = rng() % 2000;
    for (size_t i = 0; i < n; ++i) stream.push_back(alphabet[rng() % alphabet.size()]);
    FrameDecoder d(64);
    Collect c;
    size_t fed = 0;
    for (size_t off = 0; off < stream.size();) {
      const size_t k = std::min<size_t>(1 + rng() % 50, stream.size() - off);
      const Status s = d.Feed(stream.substr(off, k), c);
      CHECK(d.buffered() <= 64);
      off += k;
      fed = off;
      if (!s.ok()) break;
    }
    (void)d.Finish(c);
    size_t out = 0;
    for (const auto& f : c.frames) {
      CHECK(f.bytes.size() <= 64);
      out += f.bytes.size();
    }
    CHECK(out <= fed);  // nothing invented; the framing bytes (counts, LFs) are all that is left out
  }
}

}  // namespace
}  // namespace logship::agent::syslog
