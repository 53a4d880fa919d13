#include "common/crc32c.h"

#include <doctest/doctest.h>

#include <string>

namespace logship {
namespace {

TEST_CASE("crc32c: matches the standard check value") {
  const std::string check = "123456789";
  CHECK(Crc32c(check.data(), check.size()) == 0xE3069283u);
}

TEST_CASE("crc32c: known vectors (RFC 3720 appendix B.4)") {
  std::string zeros(32, '\0');
  CHECK(Crc32c(zeros.data(), zeros.size()) == 0x8A9136AAu);
  std::string ones(32, '\xff');
  CHECK(Crc32c(ones.data(), ones.size()) == 0x62A8AB43u);
  std::string inc(32, '\0');
  for (int i = 0; i < 32; ++i) inc[i] = static_cast<char>(i);
  CHECK(Crc32c(inc.data(), inc.size()) == 0x46DD794Eu);
  CHECK(Crc32c("", 0) == 0u);
}

TEST_CASE("crc32c: Extend composes over any split point") {
  std::string data;
  for (int i = 0; i < 1000; ++i) data.push_back(static_cast<char>((i * 131 + 7) & 0xff));
  const uint32_t whole = Crc32c(data.data(), data.size());
  for (size_t cut : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{63}, size_t{500}, size_t{999}, size_t{1000}}) {
    const uint32_t a = Crc32c(data.data(), cut);
    CHECK_MESSAGE(Crc32cExtend(a, data.data() + cut, data.size() - cut) == whole, "cut at ", cut);
  }
  // Three pieces.
  CHECK(Crc32cExtend(Crc32cExtend(Crc32c(data.data(), 10), data.data() + 10, 300), data.data() + 310, 690) == whole);
}

TEST_CASE("crc32c: a single flipped bit changes the checksum") {
  std::string data(4096, 'x');
  const uint32_t base = Crc32c(data.data(), data.size());
  for (size_t pos : {size_t{0}, size_t{1000}, size_t{4095}}) {
    std::string flipped = data;
    flipped[pos] = static_cast<char>(flipped[pos] ^ 0x10);
    CHECK(Crc32c(flipped.data(), flipped.size()) != base);
  }
}

}  // namespace
}  // namespace logship
