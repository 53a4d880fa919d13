#include "agent/checkpoint/checkpoint_store.h"

#include <doctest/doctest.h>

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

v1::Checkpoints Delta(std::initializer_list<v1::FileCheckpoint> files) {
  v1::Checkpoints d;
  for (const auto& f : files) *d.add_files() = f;
  return d;
}

TEST_CASE("checkpoint store: a new data_dir is fresh until initialized and saved") {
  TempDir dir;
  {
    CheckpointStore store(dir.File("checkpoints"));
    REQUIRE(store.Load().ok());
    CHECK(store.fresh());
    store.Initialize(1234);
    CHECK_FALSE(store.fresh());
    REQUIRE(store.Save(0, false).ok());
  }
  CheckpointStore again(dir.File("checkpoints"));
  REQUIRE(again.Load().ok());
  CHECK_FALSE(again.fresh());
  CHECK(again.initialized_unix_nano() == 1234);
}

TEST_CASE("checkpoint store: two sources tailing the same file keep two positions") {
  TempDir dir;
  CheckpointStore store(dir.File("checkpoints"));
  REQUIRE(store.Load().ok());
  store.SetActiveSources({"name:a", "name:b", "name:c"});
  store.Apply(Delta({File("name:a", 7, 100), File("name:b", 7, 20)}));
  REQUIRE(store.Save(1, false).ok());
  CheckpointStore again(dir.File("checkpoints"));
  REQUIRE(again.Load().ok());
  again.SetActiveSources({"name:a", "name:b", "name:c"});
  REQUIRE(again.FindFile("name:a", 1, 7) != nullptr);
  REQUIRE(again.FindFile("name:b", 1, 7) != nullptr);
  CHECK(again.FindFile("name:a", 1, 7)->offset() == 100u);
  CHECK(again.FindFile("name:b", 1, 7)->offset() == 20u);
  CHECK(again.FindFile("name:c", 1, 7) == nullptr);
}

TEST_CASE("checkpoint store: a position of a source no longer configured is adopted by the next one") {
  TempDir dir;
  CheckpointStore store(dir.File("checkpoints"));
  REQUIRE(store.Load().ok());
  store.SetActiveSources({"name:a", "name:b"});
  // Written before positions had sources, and by a source since renamed.
  store.Apply(Delta({File("", 7, 100), File("name:old", 8, 50), File("name:b", 9, 10)}));
  REQUIRE(store.FindFile("name:a", 1, 7) != nullptr);
  REQUIRE(store.FindFile("name:a", 1, 8) != nullptr);
  CHECK(store.FindFile("name:a", 1, 9) == nullptr);  // b's is not an orphan
  store.Apply(Delta({File("name:a", 7, 150), File("name:a", 8, 60)}));
  CHECK(store.size() == 3u);
  CHECK(store.FindFile("name:a", 1, 7)->offset() == 150u);
  CHECK(store.FindFile("name:a", 1, 8)->offset() == 60u);
  CHECK(store.FindFile("name:b", 1, 7) == nullptr);  // adopted: no longer an orphan
}

TEST_CASE("checkpoint store: tombstones of released files expire, so the store does not only grow") {
  TempDir dir;
  CheckpointStore store(dir.File("checkpoints"));
  REQUIRE(store.Load().ok());
  store.SetActiveSources({"s"});
  const int64_t now = UnixNanosNow();
  const int64_t two_days = 2 * 86400LL * 1000000000LL;
  store.Apply(Delta({File("s", 1, 10, now), File("s", 2, 10, now - two_days), File("s", 3, 10)}));
  size_t live = 0;
  store.ForEachFile("s", [&](const v1::FileCheckpoint&) { ++live; });
  CHECK(live == 1u);  // only inode 3 is not released
  REQUIRE(store.Save(1, false).ok());
  CHECK(store.size() == 2u);  // the two-day-old tombstone is gone
  REQUIRE(store.FindFile("s", 1, 1) != nullptr);
  CHECK(store.FindFile("s", 1, 1)->released_unix_nano() == now);
  CHECK(store.FindFile("s", 1, 2) == nullptr);
}

}  // namespace
}  // namespace logship::agent
