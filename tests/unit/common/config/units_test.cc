#include "common/config/units.h"

#include <doctest/doctest.h>

#include <string>

namespace logship {
namespace {

using namespace std::chrono_literals;

TEST_CASE("units: sizes accept bare bytes and binary and decimal suffixes") {
  CHECK(ParseSize("0") == 0u);
  CHECK(ParseSize("512") == 512u);
  CHECK(ParseSize("512B") == 512u);
  CHECK(ParseSize("64KiB") == 64u * 1024);
  CHECK(ParseSize("1MiB") == 1u << 20);
  CHECK(ParseSize("1GiB") == 1ull << 30);
  CHECK(ParseSize("2TiB") == 2ull << 40);
  CHECK(ParseSize("1KB") == 1000u);
  CHECK(ParseSize("3MB") == 3000000u);
  CHECK(ParseSize("1GB") == 1000000000u);
  CHECK(ParseSize("1TB") == 1000000000000u);
  CHECK(ParseSize("1.5KiB") == 1536u);
  CHECK(ParseSize("0.5MiB") == 512u * 1024);
  CHECK(ParseSize(" 16 MiB ") == 16u << 20);  // surrounding and inner blanks are tolerated
}

TEST_CASE("units: malformed sizes are rejected") {
  for (const char* bad : {"", " ", "MiB", "-1", "-1KiB", "1kib", "1 mb", "1Mi", "1MiBs", "1e3", "0x10",
                          "1.2.3", ".", "one", "1 2", "+5"}) {
    CHECK_MESSAGE(!ParseSize(bad).has_value(), "input: \"", bad, "\"");
  }
}

TEST_CASE("units: sizes that overflow 64 bits are rejected, not wrapped") {
  CHECK(!ParseSize("100000000TiB").has_value());
  CHECK(!ParseSize("20000000000000000000").has_value());
  // Far beyond the range of a double: must be nullopt, not an exception.
  const std::string huge(400, '9');
  std::optional<uint64_t> v;
  CHECK_NOTHROW(v = ParseSize(huge));
  CHECK(!v.has_value());
  CHECK_NOTHROW(v = ParseSize(huge + "KiB"));
  CHECK(!v.has_value());
}

TEST_CASE("units: durations accept ns, us, ms, s, m, h and fractions") {
  CHECK(ParseDuration("0") == 0ns);
  CHECK(ParseDuration("0s") == 0ns);
  CHECK(ParseDuration("15ns") == 15ns);
  CHECK(ParseDuration("250us") == 250us);
  CHECK(ParseDuration("200ms") == 200ms);
  CHECK(ParseDuration("1s") == 1s);
  CHECK(ParseDuration("5m") == 5min);
  CHECK(ParseDuration("1h") == 1h);
  CHECK(ParseDuration("1.5s") == 1500ms);
  CHECK(ParseDuration("2.5ms") == 2500us);
  CHECK(ParseDuration("0.25h") == 15min);
  CHECK(ParseDuration(" 3s ") == 3s);
}

TEST_CASE("units: malformed durations are rejected") {
  for (const char* bad : {"", "s", "5", "1.5", "-1s", "1d", "1S", "1 sec", "10 days", "1e3ms", "ms5",
                          "1.2.3s", "1min"}) {
    CHECK_MESSAGE(!ParseDuration(bad).has_value(), "input: \"", bad, "\"");
  }
}

TEST_CASE("units: durations that overflow 64-bit nanoseconds are rejected") {
  CHECK(!ParseDuration("3000000h").has_value());
  const std::string huge(400, '9');
  std::optional<std::chrono::nanoseconds> v;
  CHECK_NOTHROW(v = ParseDuration(huge + "s"));
  CHECK(!v.has_value());
}

}  // namespace
}  // namespace logship
