// The journald source on a real libuv loop, reading real journal files written by
// systemd-journal-remote from journal export format, with a real checkpoint store.
#include "agent/sources/journald/journald_source.h"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <set>
#include <filesystem>
#include <thread>

#include "agent/checkpoint/checkpoint_store.h"
#include "common/metrics/registry.h"
#include "tests/unit/agent/sources/syslog/capture_emitter.h"
#include "tests/unit/testing/temp_dir.h"

namespace logship::agent {
namespace {

using logship::testing::TempDir;
using Clock = std::chrono::steady_clock;

// Entries 1..count: odd ones from web.service, even ones from worker.service; PRIORITY seq % 8.
void WriteJournal(const TempDir& dir, const std::string& name, int count) {
  const std::string export_path = dir.File(name + ".export");
  {
    std::ofstream out(export_path, std::ios::binary);
    const long long base_us = 1764000000000000LL;
    for (int seq = 1; seq <= count; ++seq) {
      out << "__REALTIME_TIMESTAMP=" << base_us + seq << "\n"
          << "__MONOTONIC_TIMESTAMP=" << 1000 + seq << "\n"
          << "_BOOT_ID=0123456789abcdef0123456789abcdef\n"
          << "_HOSTNAME=testhost\n"
          << "_SYSTEMD_UNIT=" << (seq % 2 ? "web.service" : "worker.service") << "\n"
          << "PRIORITY=" << seq % 8 << "\n"
          << "MESSAGE=entry " << seq << "\n\n";
    }
  }
  const std::string cmd = "/lib/systemd/systemd-journal-remote --output=" + dir.File("journal/" + name + ".journal") +
                          " " + export_path + " >/dev/null 2>&1";
  REQUIRE_MESSAGE(std::system(cmd.c_str()) == 0, cmd);
}

struct Rig {
  explicit Rig(const TempDir& d) : dir(d), store(d.File("checkpoints"), SourceStateTypesOfPlugins()) {
    uv_loop_init(&loop);
    REQUIRE(store.Load().ok());
    config.type = "journald";
    config.name = "journal";
    config.directory = d.File("journal");
    config.start_at_beginning = true;
    config.poll_interval = std::chrono::milliseconds(50);
  }
  ~Rig() {
    if (source) source->Stop();
    source.reset();
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
  }
  void Start() {
    source = std::make_unique<JournaldSource>(config, SourceContext{&loop, "agent-1", &store, &registry});
    REQUIRE(source->Start(out).ok());
  }
  bool RunUntil(const std::function<bool()>& done, double seconds = 10) {
    const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
    while (!done()) {
      if (Clock::now() > deadline) return false;
      uv_run(&loop, UV_RUN_NOWAIT);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }

  const TempDir& dir;
  uv_loop_t loop{};
  CheckpointStore store;
  metrics::Registry registry;
  JournaldSourceConfig config;
  syslog::testing::CaptureEmitter out;
  std::unique_ptr<JournaldSource> source;
};

TEST_CASE("journald source: every entry of a real journal file, named by unit, with cursor ids") {
  TempDir dir;
  std::filesystem::create_directories(dir.File("journal"));
  WriteJournal(dir, "a", 200);
  Rig rig(dir);
  rig.Start();
  REQUIRE(rig.RunUntil([&] { return rig.out.records.size() >= 200; }));
  rig.RunUntil([] { return false; }, 0.2);
  REQUIRE(rig.out.records.size() == 200);
  std::set<std::string> ids;
  for (size_t i = 0; i < rig.out.records.size(); ++i) {
    const auto& r = rig.out.records[i];
    const int seq = static_cast<int>(i) + 1;
    CHECK(r.body == "entry " + std::to_string(seq));
    CHECK(r.source_name == (seq % 2 ? "web.service" : "worker.service"));
    CHECK(r.has_id);
    ids.insert(r.id.ToUuid());
    CHECK(r.time_unix_nano == (1764000000000000LL + seq) * 1000);
  }
  CHECK(ids.size() == 200);
  CHECK(rig.out.records[2].severity == 17);  // PRIORITY 3 (err): OpenTelemetry ERROR
  CHECK(rig.out.records[6].severity == 5);   // PRIORITY 7 (debug): OpenTelemetry DEBUG
}

TEST_CASE("journald source: a checkpointed cursor resumes after its entry, with the same ids") {
  TempDir dir;
  std::filesystem::create_directories(dir.File("journal"));
  WriteJournal(dir, "a", 100);
  std::vector<std::string> first_ids;
  {
    Rig rig(dir);
    rig.Start();
    REQUIRE(rig.RunUntil([&] { return rig.out.records.size() >= 100; }));
    for (const auto& r : rig.out.records) first_ids.push_back(r.id.ToUuid());
    // The spool would hold entries 1..60: their positions are what the checkpoint keeps.
    REQUIRE(rig.store.ApplyState("journald", rig.out.records[59].delta).ok());
    REQUIRE(rig.store.Save(1, true).ok());
  }
  Rig again(dir);
  REQUIRE(again.store.Load().ok());
  again.Start();
  REQUIRE(again.RunUntil([&] { return again.out.records.size() >= 40; }));
  again.RunUntil([] { return false; }, 0.2);
  REQUIRE(again.out.records.size() == 40);
  CHECK(again.out.records.front().body == "entry 61");
  for (size_t i = 0; i < 40; ++i) CHECK(again.out.records[i].id.ToUuid() == first_ids[60 + i]);
}

TEST_CASE("journald source: a unit filter reads only that unit") {
  TempDir dir;
  std::filesystem::create_directories(dir.File("journal"));
  WriteJournal(dir, "a", 50);
  Rig rig(dir);
  rig.config.units = {"worker.service"};
  rig.Start();
  REQUIRE(rig.RunUntil([&] { return rig.out.records.size() >= 25; }));
  rig.RunUntil([] { return false; }, 0.2);
  CHECK(rig.out.records.size() == 25);
  for (const auto& r : rig.out.records) CHECK(r.source_name == "worker.service");
}

}  // namespace
}  // namespace logship::agent
