#include "agent/sources/file/file_state.h"

#include <doctest/doctest.h>

#include "agent/checkpoint/checkpoint_store.h"
#include "agent/sources/file/file_state.pb.h"
#include "agent/sources/source_plugin.h"
#include "common/clock.h"
#include "tests/unit/testing/temp_dir.h"

namespace logship::agent {
namespace {

using testing::TempDir;

v1::FileCheckpoint File(const std::string& source, uint64_t inode, uint64_t offset, int64_t released = 0) {
  v1::FileCheckpoint f;
  f.set_source(source);
  f.set_path("/var/log/app.log");
  f.set_device(1);
  f.set_inode(inode);
  f.set_fingerprint(42);
  f.set_offset(offset);
  f.set_released_unix_nano(released);
  return f;
}

// A spool frame's delta holding these file positions.
v1::Checkpoints Delta(std::initializer_list<v1::FileCheckpoint> files) {
  file::v1::FileSourceState state;
  for (const auto& f : files) *state.add_files() = f;
  v1::Checkpoints d;
  (*d.mutable_states())["file"] = state.SerializeAsString();
  return d;
}

CheckpointStore Store(const TempDir& dir) { return CheckpointStore(dir.File("checkpoints"), SourceStateTypesOfPlugins()); }
FileState& Files(CheckpointStore& store) { return store.StateAs<FileState>(FileState::kType); }

TEST_CASE("file state: two sources tailing the same file keep two positions") {
  TempDir dir;
  CheckpointStore store = Store(dir);
  REQUIRE(store.Load().ok());
  store.SetActiveSources({"name:a", "name:b", "name:c"});
  REQUIRE(store.Apply(Delta({File("name:a", 7, 100), File("name:b", 7, 20)})).ok());
  REQUIRE(store.Save(1, false).ok());
  CheckpointStore again = Store(dir);
  again.SetActiveSources({"name:a", "name:b", "name:c"});
  REQUIRE(again.Load().ok());
  REQUIRE(Files(again).Find("name:a", 1, 7) != nullptr);
  REQUIRE(Files(again).Find("name:b", 1, 7) != nullptr);
  CHECK(Files(again).Find("name:a", 1, 7)->offset() == 100u);
  CHECK(Files(again).Find("name:b", 1, 7)->offset() == 20u);
  CHECK(Files(again).Find("name:c", 1, 7) == nullptr);
}

TEST_CASE("file state: a position of a source no longer configured is adopted by the next one") {
  TempDir dir;
  CheckpointStore store = Store(dir);
  REQUIRE(store.Load().ok());
  store.SetActiveSources({"name:a", "name:b"});
  // Written before positions had sources, and by a source since renamed.
  REQUIRE(store.Apply(Delta({File("", 7, 100), File("name:old", 8, 50), File("name:b", 9, 10)})).ok());
  FileState& files = Files(store);
  REQUIRE(files.Find("name:a", 1, 7) != nullptr);
  REQUIRE(files.Find("name:a", 1, 8) != nullptr);
  CHECK(files.Find("name:a", 1, 9) == nullptr);  // b's is not an orphan
  REQUIRE(store.Apply(Delta({File("name:a", 7, 150), File("name:a", 8, 60)})).ok());
  CHECK(files.size() == 3u);
  CHECK(files.Find("name:a", 1, 7)->offset() == 150u);
  CHECK(files.Find("name:a", 1, 8)->offset() == 60u);
  CHECK(files.Find("name:b", 1, 7) == nullptr);  // adopted: no longer an orphan
}

TEST_CASE("file state: tombstones of released files expire, so the state does not only grow") {
  TempDir dir;
  CheckpointStore store = Store(dir);
  REQUIRE(store.Load().ok());
  store.SetActiveSources({"s"});
  const int64_t now = UnixNanosNow();
  const int64_t two_days = 2 * 86400LL * 1000000000LL;
  REQUIRE(store.Apply(Delta({File("s", 1, 10, now), File("s", 2, 10, now - two_days), File("s", 3, 10)})).ok());
  FileState& files = Files(store);
  size_t live = 0;
  files.ForEach("s", [&](const v1::FileCheckpoint&) { ++live; });
  CHECK(live == 1u);  // only inode 3 is not released
  REQUIRE(store.Save(1, false).ok());
  CHECK(files.size() == 2u);  // the two-day-old tombstone is gone
  REQUIRE(files.Find("s", 1, 1) != nullptr);
  CHECK(files.Find("s", 1, 1)->released_unix_nano() == now);
  CHECK(files.Find("s", 1, 2) == nullptr);
}

TEST_CASE("file state: positions a checkpoint stored before plugin states are read as file positions") {
  TempDir dir;
  v1::Checkpoints legacy;  // what the agent wrote before, in Checkpoints.files
  legacy.set_spool_sequence(9);
  legacy.set_initialized_unix_nano(1234);
  *legacy.add_files() = File("file:main", 7, 300);
  {
    CheckpointStore store = Store(dir);
    REQUIRE(store.Load().ok());
    REQUIRE(store.Apply(legacy).ok());  // a spool frame from before, replayed
    CHECK(Files(store).Find("file:main", 1, 7)->offset() == 300u);
  }
  std::string bytes = legacy.SerializeAsString();
  FILE* f = std::fopen(dir.File("checkpoints").c_str(), "wb");
  REQUIRE(f != nullptr);
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
  CheckpointStore store = Store(dir);
  store.SetActiveSources({"file:main"});
  REQUIRE(store.Load().ok());
  CHECK(store.spool_sequence() == 9u);
  CHECK(store.initialized_unix_nano() == 1234);
  REQUIRE(Files(store).Find("file:main", 1, 7) != nullptr);
  CHECK(Files(store).Find("file:main", 1, 7)->offset() == 300u);
}

}  // namespace
}  // namespace logship::agent
