#include "common/config/config_node.h"

#include <doctest/doctest.h>
#include <stdlib.h>

#include <chrono>

#include "tests/unit/testing/config_error.h"

namespace logship {
namespace {

using testing::ConfigErrorOf;
using testing::StartsWith;
using namespace std::chrono_literals;

// Sets an environment variable for one test and restores the previous state.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = ::getenv(name)) old_ = old, had_ = true;
    if (value) ::setenv(name, value, 1); else ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (had_) ::setenv(name_.c_str(), old_.c_str(), 1); else ::unsetenv(name_.c_str());
  }

 private:
  std::string name_, old_;
  bool had_ = false;
};

TEST_CASE("config: values are read with their types and defaults") {
  ConfigMap m(LoadYamlString("name: web\nenabled: yes\ncount: 42\nsize: 64KiB\nwait: 1.5s\n"
                             "list: [a, b]\nattrs: {k1: v1, k2: v2}\n",
                             "t.yaml"));
  CHECK(m.String("name", "") == "web");
  CHECK(m.Bool("enabled", false));
  CHECK(m.Int("count", 0, 0, 100) == 42);
  CHECK(m.Size("size", 0, 0, 1 << 30) == 64 * 1024);
  CHECK(m.Duration("wait", 0ns, 0ns, 1h) == 1500ms);
  CHECK(m.Require("list").AsStringList() == std::vector<std::string>{"a", "b"});
  const auto attrs = m.Require("attrs").AsStringMap();
  REQUIRE(attrs.size() == 2);
  CHECK(attrs[0] == std::pair<std::string, std::string>("k1", "v1"));
  CHECK(attrs[1] == std::pair<std::string, std::string>("k2", "v2"));
  CHECK(m.String("absent", "dflt") == "dflt");
  CHECK(m.Int("absent_int", 7, 0, 10) == 7);
  CHECK_NOTHROW(m.Finish());
}

TEST_CASE("config: an unknown key is an error at the key's line and column") {
  const std::string yaml =
      "name: web\n"
      "nested:\n"
      "  good: 1\n"
      "  tpyo: 2\n";
  ConfigMap m(LoadYamlString(yaml, "agent.yaml"));
  m.String("name", "");
  ConfigMap nested(m.Require("nested"));
  nested.Int("good", 0, 0, 10);
  const std::string err = ConfigErrorOf([&] { nested.Finish(); });
  CHECK_MESSAGE(StartsWith(err, "agent.yaml:4:3: "), err);
  CHECK(err.find("unknown key \"tpyo\"") != std::string::npos);
  CHECK(err.find("nested") != std::string::npos);  // the path of the enclosing map
}

TEST_CASE("config: an unknown key names the closest known key, or lists them") {
  ConfigMap m(LoadYamlString("max_in_fligt: 4\n", "c.yaml"));
  m.Int("max_in_flight", 8, 1, 1024);
  m.Int("linger", 1, 1, 10);
  const std::string typo = ConfigErrorOf([&] { m.Finish(); });
  CHECK_MESSAGE(typo.find("unknown key \"max_in_fligt\" (did you mean \"max_in_flight\"?)") != std::string::npos, typo);
  ConfigMap far(LoadYamlString("colour: red\n", "c.yaml"));
  far.Int("linger", 1, 1, 10);
  const std::string other = ConfigErrorOf([&] { far.Finish(); });
  CHECK_MESSAGE(other.find("unknown key \"colour\" (known keys: linger)") != std::string::npos, other);
}

TEST_CASE("config: a directory given as the configuration file says so") {
  const std::string err = ConfigErrorOf([] { LoadYamlFile("/tmp"); });
  CHECK_MESSAGE(StartsWith(err, "/tmp:1:1: is a directory"), err);
}

TEST_CASE("config: an unknown top-level key is reported even when others were read") {
  ConfigMap m(LoadYamlString("a: 1\n\n   \nzzz: 3\n", "c.yaml"));
  m.Int("a", 0, 0, 10);
  const std::string err = ConfigErrorOf([&] { m.Finish(); });
  CHECK_MESSAGE(StartsWith(err, "c.yaml:4:1: "), err);
  CHECK(err.find("unknown key \"zzz\"") != std::string::npos);
}

TEST_CASE("config: a list where a single value is expected is an error at the value") {
  ConfigMap m(LoadYamlString("x: 1\nname: [a, b]\n", "t.yaml"));
  const std::string err = ConfigErrorOf([&] { m.String("name", ""); });
  CHECK_MESSAGE(StartsWith(err, "t.yaml:2:7: name: "), err);
  CHECK(err.find("expected a single value") != std::string::npos);
}

TEST_CASE("config: a scalar where a list is expected is an error") {
  ConfigMap m(LoadYamlString("list: abc\n", "t.yaml"));
  const std::string err = ConfigErrorOf([&] { m.Require("list").AsStringList(); });
  CHECK_MESSAGE(StartsWith(err, "t.yaml:1:7: list: "), err);
  CHECK(err.find("expected a list") != std::string::npos);
}

TEST_CASE("config: a missing required key names the key at the enclosing map") {
  ConfigMap m(LoadYamlString("other: 1\n", "t.yaml"));
  const std::string err = ConfigErrorOf([&] { m.Require("needed"); });
  CHECK_MESSAGE(StartsWith(err, "t.yaml:1:1: "), err);
  CHECK(err.find("missing required key \"needed\"") != std::string::npos);
}

TEST_CASE("config: a required key with an empty value is an error") {
  ConfigMap m(LoadYamlString("a: 1\nneeded:\n", "t.yaml"));
  const std::string err = ConfigErrorOf([&] { m.Require("needed"); });
  CHECK_MESSAGE(StartsWith(err, "t.yaml:"), err);
  CHECK(err.find("needed: must not be empty") != std::string::npos);
}

TEST_CASE("config: a malformed size is an error at the value") {
  ConfigMap m(LoadYamlString("a: 1\nsize: 12 parsecs\n", "t.yaml"));
  const std::string err = ConfigErrorOf([&] { m.Size("size", 0, 0, 1ull << 40); });
  CHECK_MESSAGE(StartsWith(err, "t.yaml:2:7: size: "), err);
  CHECK(err.find("12 parsecs") != std::string::npos);
}

TEST_CASE("config: a size out of range is an error") {
  ConfigMap m(LoadYamlString("size: 2MiB\n", "t.yaml"));
  const std::string err = ConfigErrorOf([&] { m.Size("size", 0, 0, 1 << 20); });
  CHECK_MESSAGE(StartsWith(err, "t.yaml:1:7: size: "), err);
  CHECK(err.find("must be between") != std::string::npos);
}

TEST_CASE("config: an absurdly long number is a config error, not a crash") {
  const std::string digits(400, '9');
  ConfigMap m(LoadYamlString("a: 1\nsize: " + digits + "\nwait: " + digits + "s\n", "t.yaml"));
  const std::string size_err = ConfigErrorOf([&] { m.Size("size", 0, 0, 1ull << 40); });
  CHECK_MESSAGE(StartsWith(size_err, "t.yaml:2:7: size: "), size_err);
  const std::string wait_err = ConfigErrorOf([&] { m.Duration("wait", 0ns, 0ns, 1h); });
  CHECK_MESSAGE(StartsWith(wait_err, "t.yaml:3:7: wait: "), wait_err);
}

TEST_CASE("config: a malformed or out-of-range duration is an error") {
  {
    ConfigMap m(LoadYamlString("wait: 10 days\n", "t.yaml"));
    const std::string err = ConfigErrorOf([&] { m.Duration("wait", 0ns, 0ns, 1h); });
    CHECK_MESSAGE(StartsWith(err, "t.yaml:1:7: wait: "), err);
  }
  {
    ConfigMap m(LoadYamlString("wait: 2h\n", "t.yaml"));
    const std::string err = ConfigErrorOf([&] { m.Duration("wait", 0ns, 0ns, 1h); });
    CHECK_MESSAGE(StartsWith(err, "t.yaml:1:7: wait: "), err);
    CHECK(err.find("out of range") != std::string::npos);
  }
}

TEST_CASE("config: bad booleans, integers and enum values are errors") {
  ConfigMap m(LoadYamlString("b: maybe\ni: 12x\nj: 11\ne: sometimes\n", "t.yaml"));
  CHECK(StartsWith(ConfigErrorOf([&] { m.Bool("b", false); }), "t.yaml:1:4: b: "));
  CHECK(StartsWith(ConfigErrorOf([&] { m.Int("i", 0, 0, 100); }), "t.yaml:2:4: i: "));
  CHECK(StartsWith(ConfigErrorOf([&] { m.Int("j", 0, 0, 10); }), "t.yaml:3:4: j: "));
  const std::string err = ConfigErrorOf([&] { m.Enum("e", {"always", "never"}, 0); });
  CHECK_MESSAGE(StartsWith(err, "t.yaml:4:4: e: "), err);
  CHECK(err.find("always, never") != std::string::npos);
}

TEST_CASE("config: ${VAR} in values is replaced from the environment") {
  ScopedEnv env("LOGSHIP_UNIT_TEST_VAR", "expanded");
  ScopedEnv env2("LOGSHIP_UNIT_TEST_N", "17");
  ConfigMap m(LoadYamlString("a: pre-${LOGSHIP_UNIT_TEST_VAR}-post\nn: ${LOGSHIP_UNIT_TEST_N}\nd: $HOME\n", "t.yaml"));
  CHECK(m.String("a", "") == "pre-expanded-post");
  CHECK(m.Int("n", 0, 0, 100) == 17);
  CHECK(m.String("d", "") == "$HOME");  // only the ${...} form is expanded
}

TEST_CASE("config: an unset ${VAR} is an error naming the variable") {
  ScopedEnv env("LOGSHIP_UNIT_TEST_UNSET", nullptr);
  ConfigMap m(LoadYamlString("a: 1\ntoken: ${LOGSHIP_UNIT_TEST_UNSET}\n", "t.yaml"));
  const std::string err = ConfigErrorOf([&] { m.String("token", ""); });
  CHECK_MESSAGE(StartsWith(err, "t.yaml:2:8: token: "), err);
  CHECK(err.find("LOGSHIP_UNIT_TEST_UNSET is not set") != std::string::npos);
}

TEST_CASE("config: an unterminated ${ is an error") {
  ConfigMap m(LoadYamlString("a: ${OOPS\n", "t.yaml"));
  const std::string err = ConfigErrorOf([&] { m.String("a", ""); });
  CHECK_MESSAGE(StartsWith(err, "t.yaml:1:4: a: "), err);
}

TEST_CASE("config: an empty document is reported as empty") {
  for (const char* text : {"", "\n\n", "# only a comment\n"}) {
    const std::string err = ConfigErrorOf([&] { LoadYamlString(text, "e.yaml"); });
    CHECK_MESSAGE(StartsWith(err, "e.yaml:1:1: "), err);
    CHECK_MESSAGE(err.find("configuration is empty") != std::string::npos, err);
  }
}

TEST_CASE("config: a document that is not a mapping is an error") {
  const std::string err = ConfigErrorOf([&] { LoadYamlString("- a\n- b\n", "l.yaml"); });
  CHECK_MESSAGE(StartsWith(err, "l.yaml:1:1: "), err);
  CHECK(err.find("must be a mapping") != std::string::npos);
}

TEST_CASE("config: a YAML syntax error carries file:line:col") {
  const std::string err = ConfigErrorOf([&] { LoadYamlString("a: 1\nb: [1, 2\nc: 3\n", "s.yaml"); });
  CHECK_MESSAGE(StartsWith(err, "s.yaml:"), err);
  // "s.yaml:LINE:COL: message" with a line past the first.
  int line = 0, col = 0;
  REQUIRE(std::sscanf(err.c_str(), "s.yaml:%d:%d:", &line, &col) == 2);
  CHECK(line >= 2);
  CHECK(col >= 1);

  const std::string err2 = ConfigErrorOf([&] { LoadYamlString("a: 1\n  b: 2\n", "s2.yaml"); });
  CHECK_MESSAGE(StartsWith(err2, "s2.yaml:2:"), err2);
}

TEST_CASE("config: a file that does not exist is an error naming it") {
  const std::string err = ConfigErrorOf([&] { LoadYamlFile("/nonexistent/logship/agent.yaml"); });
  CHECK_MESSAGE(StartsWith(err, "/nonexistent/logship/agent.yaml:1:1: "), err);
}

}  // namespace
}  // namespace logship
