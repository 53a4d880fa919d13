#include "collector/malloc_arenas.h"

#include <doctest/doctest.h>
#include <malloc.h>

#include <barrier>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/testing/run_self.h"

// Arenas are created as threads first allocate and never go away, so each probe runs in a
// fresh process: this binary again, with only the probe test case selected (run_self.h).
#if !defined(__SANITIZE_ADDRESS__)  // ASan brings its own allocator: mallopt does nothing

namespace {

constexpr const char* kProbeEnv = "LOGSHIP_ARENA_PROBE";

// glibc's own account of its arenas: one <heap nr="…"> element each.
int CountArenas() {
  char* text = nullptr;
  size_t size = 0;
  FILE* f = open_memstream(&text, &size);
  malloc_info(0, f);
  std::fclose(f);
  int n = 0;
  for (const char* p = text; (p = std::strstr(p, "<heap nr=")) != nullptr; ++p) ++n;
  std::free(text);
  return n;
}

// In the fresh process: 8 threads allocate at once; exits with the number of arenas.
int Probe(bool limit) {
  if (limit) logship::collector::LimitMallocArenas(1);
  std::barrier all_allocated(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      void* volatile block = std::malloc(64 << 10);  // volatile: not elided
      all_allocated.arrive_and_wait();
      std::free(block);
    });
  }
  for (auto& t : threads) t.join();
  return CountArenas();
}

int ArenasIn(const std::vector<std::string>& env) {
  const int status = logship::testing::RunSelfTestCase("malloc arenas: probe*", env);
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

}  // namespace

TEST_CASE("malloc arenas: probe (runs only in the process the next test starts)") {
  if (const char* mode = std::getenv(kProbeEnv); mode != nullptr) std::_Exit(Probe(std::strcmp(mode, "limit") == 0));
}

TEST_CASE("malloc arenas: eight busy threads share two arenas per core, unless the operator chose") {
  if (std::getenv("MALLOC_ARENA_MAX") != nullptr || std::getenv("GLIBC_TUNABLES") != nullptr) {
    MESSAGE("skipped: this environment sets malloc tunables of its own");
    return;
  }
  const std::string probe = kProbeEnv;
  const int unlimited = ArenasIn({probe + "=none"});
  MESSAGE("arenas without the limit: " << unlimited);
  CHECK(unlimited > 2);  // each thread its own, as glibc does by default
  CHECK(ArenasIn({probe + "=limit"}) <= 2);  // LimitMallocArenas(1 core)
  // The operator's setting (glibc reads both at start) is left alone.
  const int env_chosen = ArenasIn({probe + "=limit", "MALLOC_ARENA_MAX=5"});
  CHECK(env_chosen > 2);
  CHECK(env_chosen <= 5);
  const int tunable_chosen = ArenasIn({probe + "=limit", "GLIBC_TUNABLES=glibc.malloc.arena_max=5"});
  CHECK(tunable_chosen > 2);
  CHECK(tunable_chosen <= 5);
}

#endif
