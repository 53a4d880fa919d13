#include "agent/checkpoint/checkpoint_store.h"

#include <doctest/doctest.h>

#include <map>

#include "tests/unit/testing/temp_dir.h"

namespace logship::agent {
namespace {

using testing::TempDir;

// A plugin state for the test: "key=value;" pairs, a later value replacing an earlier one.
class KeyValueState final : public SourceState {
 public:
  bool Apply(std::string_view delta) override {
    while (!delta.empty()) {
      const size_t semi = delta.find(';');
      const size_t eq = delta.find('=');
      if (semi == std::string_view::npos || eq == std::string_view::npos || eq > semi) return false;
      values[std::string(delta.substr(0, eq))] = std::string(delta.substr(eq + 1, semi - eq - 1));
      delta.remove_prefix(semi + 1);
    }
    return true;
  }
  std::string Encode() const override {
    std::string out;
    for (const auto& [k, v] : values) out += k + "=" + v + ";";
    return out;
  }
  std::map<std::string, std::string> values;
};

SourceStateTypes Types() {
  SourceStateTypes t;
  t.create = [](std::string_view type) -> std::unique_ptr<SourceState> {
    if (type == "kv") return std::make_unique<KeyValueState>();
    return nullptr;
  };
  return t;
}

v1::Checkpoints Delta(const std::string& type, const std::string& bytes) {
  v1::Checkpoints d;
  (*d.mutable_states())[type] = bytes;
  return d;
}

TEST_CASE("checkpoint store: a new data_dir is fresh until initialized and saved") {
  TempDir dir;
  {
    CheckpointStore store(dir.File("checkpoints"), Types());
    REQUIRE(store.Load().ok());
    CHECK(store.fresh());
    store.Initialize(1234);
    CHECK_FALSE(store.fresh());
    REQUIRE(store.Save(0, false).ok());
  }
  CheckpointStore again(dir.File("checkpoints"), Types());
  REQUIRE(again.Load().ok());
  CHECK_FALSE(again.fresh());
  CHECK(again.initialized_unix_nano() == 1234);
}

TEST_CASE("checkpoint store: deltas merge into the plugin's state in order and survive a save") {
  TempDir dir;
  {
    CheckpointStore store(dir.File("checkpoints"), Types());
    REQUIRE(store.Load().ok());
    REQUIRE(store.Apply(Delta("kv", "a=1;b=1;")).ok());
    REQUIRE(store.Apply(Delta("kv", "a=2;")).ok());
    REQUIRE(store.ApplyState("kv", "c=3;").ok());
    REQUIRE(store.Save(7, false).ok());
  }
  CheckpointStore again(dir.File("checkpoints"), Types());
  REQUIRE(again.Load().ok());
  CHECK(again.spool_sequence() == 7u);
  const auto& kv = again.StateAs<KeyValueState>("kv").values;
  CHECK(kv == std::map<std::string, std::string>{{"a", "2"}, {"b", "1"}, {"c", "3"}});
}

TEST_CASE("checkpoint store: a type this build lacks is kept as it was, and an unreadable delta is an error") {
  TempDir dir;
  {
    CheckpointStore store(dir.File("checkpoints"), Types());
    REQUIRE(store.Load().ok());
    REQUIRE(store.Apply(Delta("gone", "opaque bytes")).ok());
    CHECK(store.State("gone") == nullptr);
    CHECK_FALSE(store.Apply(Delta("kv", "no separator")).ok());
    REQUIRE(store.Save(1, false).ok());
  }
  std::string text;
  {
    FILE* f = std::fopen(dir.File("checkpoints").c_str(), "rb");
    REQUIRE(f != nullptr);
    char buf[4096];
    text.assign(buf, std::fread(buf, 1, sizeof buf, f));
    std::fclose(f);
  }
  v1::Checkpoints saved;
  REQUIRE(saved.ParseFromString(text));
  CHECK(saved.states().at("gone") == "opaque bytes");
}

}  // namespace
}  // namespace logship::agent
