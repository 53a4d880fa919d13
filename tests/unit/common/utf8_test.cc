#include "common/utf8.h"

#include <doctest/doctest.h>

#include <string>

namespace logship {
namespace {

std::string Escape(std::string_view in, bool* escaped = nullptr) {
  std::string out = "prefix:";  // appends, never replaces
  const bool e = AppendEscapedUtf8(in, &out);
  if (escaped) *escaped = e;
  REQUIRE(out.rfind("prefix:", 0) == 0);
  return out.substr(7);
}

TEST_CASE("utf8: valid text, including multi-byte characters, is untouched") {
  const std::string text = "plain ascii, \xC3\xA9t\xC3\xA9 (2-byte), \xE2\x82\xAC (3-byte), \xF0\x9F\x98\x80 (4-byte), "
                           "\xEF\xBF\xBF \xF4\x8F\xBF\xBF";  // U+FFFF and U+10FFFF, the edges
  CHECK(ValidUtf8Prefix(text) == text.size());
  bool escaped = true;
  CHECK(Escape(text, &escaped) == text);
  CHECK_FALSE(escaped);
  CHECK(Escape("", &escaped).empty());
  CHECK_FALSE(escaped);
}

TEST_CASE("utf8: invalid bytes become \\xNN in lower-case hex and nothing is dropped") {
  bool escaped = false;
  CHECK(Escape("a\xFF" "b", &escaped) == "a\\xffb");
  CHECK(escaped);
  CHECK(Escape("\xC0\xAF") == "\\xc0\\xaf");          // C0/C1 never start a sequence
  CHECK(Escape("\x80") == "\\x80");                   // lone continuation byte
  CHECK(Escape("\xF5\x80\x80\x80") == "\\xf5\\x80\\x80\\x80");  // > F4 lead
  CHECK(Escape("\xFE\xFF") == "\\xfe\\xff");
  CHECK(Escape("ok\xE9ok") == "ok\\xe9ok");           // Latin-1 é
}

TEST_CASE("utf8: NUL is escaped as \\x00 even inside valid text") {
  bool escaped = false;
  CHECK(Escape(std::string_view("a\0b\0", 4), &escaped) == "a\\x00b\\x00");
  CHECK(escaped);
  CHECK(Escape(std::string_view("\0", 1)) == "\\x00");
  CHECK(ValidUtf8Prefix(std::string_view("a\0b", 3)) == 3);  // NUL is valid UTF-8; only the escaper cares
}

TEST_CASE("utf8: overlong encodings are invalid") {
  CHECK(ValidUtf8Prefix("\xC1\xBF") == 0);          // overlong 2-byte
  CHECK(ValidUtf8Prefix("\xE0\x80\xAF") == 0);      // overlong 3-byte '/'
  CHECK(ValidUtf8Prefix("\xE0\x9F\xBF") == 0);
  CHECK(ValidUtf8Prefix("\xE0\xA0\x80") == 3);      // smallest valid 3-byte (U+0800)
  CHECK(ValidUtf8Prefix("\xF0\x80\x80\xAF") == 0);  // overlong 4-byte
  CHECK(ValidUtf8Prefix("\xF0\x8F\xBF\xBF") == 0);
  CHECK(ValidUtf8Prefix("\xF0\x90\x80\x80") == 4);  // smallest valid 4-byte (U+10000)
  CHECK(Escape("x\xE0\x80\xAFy") == "x\\xe0\\x80\\xafy");
}

TEST_CASE("utf8: surrogates and code points above U+10FFFF are invalid") {
  CHECK(ValidUtf8Prefix("\xED\xA0\x80") == 0);      // U+D800
  CHECK(ValidUtf8Prefix("\xED\xBF\xBF") == 0);      // U+DFFF
  CHECK(ValidUtf8Prefix("\xED\x9F\xBF") == 3);      // U+D7FF is fine
  CHECK(ValidUtf8Prefix("\xF4\x90\x80\x80") == 0);  // U+110000
  CHECK(Escape("\xED\xA0\x80") == "\\xed\\xa0\\x80");
}

TEST_CASE("utf8: truncated sequences are escaped byte by byte, and what follows is kept") {
  CHECK(ValidUtf8Prefix("ab\xE2\x82") == 2);
  CHECK(Escape("ab\xE2\x82") == "ab\\xe2\\x82");
  CHECK(Escape("\xF0\x9F\x98") == "\\xf0\\x9f\\x98");
  CHECK(Escape("\xC3") == "\\xc3");
  // Interrupted sequence followed by valid text: the valid character survives intact.
  CHECK(Escape("\xE2\x82" "A\xE2\x82\xAC") == "\\xe2\\x82A\xE2\x82\xAC");
  CHECK(Escape("\xF0\x9F" "\xC3\xA9") == "\\xf0\\x9f\xC3\xA9");
}

TEST_CASE("utf8: the valid prefix stops exactly at the first bad byte past the ASCII fast path") {
  for (size_t n = 0; n < 40; ++n) {
    std::string s(n, 'a');
    s.push_back('\xFF');
    s.append("tail");
    CHECK_MESSAGE(ValidUtf8Prefix(s) == n, "n = ", n);
    std::string t(n, 'a');
    t.append("\xE2\x82\xAC");
    t.append(13, 'b');
    CHECK_MESSAGE(ValidUtf8Prefix(t) == t.size(), "n = ", n);
  }
}

TEST_CASE("utf8: escaped output is itself valid UTF-8 without NUL") {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  const std::string out = Escape(all);
  CHECK(ValidUtf8Prefix(out) == out.size());
  CHECK(out.find('\0') == std::string::npos);
  // Every byte >= 0x80 is invalid on its own here, so each becomes four characters.
  CHECK(out.size() == 1 * 4 + 127 + 128 * 4);
}

}  // namespace
}  // namespace logship
