#include "agent/heap_tuning.h"

#include <doctest/doctest.h>
#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "tests/unit/testing/run_self.h"

// glibc's thresholds drift with what a process has freed, so the probe runs in a fresh
// process: this binary again, with only the probe test case selected (run_self.h).
#if !defined(__SANITIZE_ADDRESS__)  // ASan brings its own allocator: mallopt does nothing

namespace {

constexpr const char* kProbeEnv = "LOGSHIP_HEAP_PROBE";

// In the fresh process: 0 when a 3 MiB block came from the heap (not mmap) and freeing it
// left the heap its size; 1 otherwise.
int Probe() {
  logship::agent::TuneHeapForBatches();
  const struct mallinfo2 before = mallinfo2();
  char* volatile block = static_cast<char*>(std::malloc(3 << 20));  // volatile: not elided
  std::memset(block, 1, 3 << 20);
  const struct mallinfo2 holding = mallinfo2();
  std::free(block);
  const struct mallinfo2 after = mallinfo2();
  const bool from_heap = holding.hblks == before.hblks;
  const bool kept = after.arena == holding.arena;
  return from_heap && kept ? 0 : 1;
}

}  // namespace

TEST_CASE("heap tuning: probe (runs only in the process the next test starts)") {
  if (std::getenv(kProbeEnv) != nullptr) std::_Exit(Probe());
}

TEST_CASE("heap tuning: batch-sized blocks come from the heap and stay there when freed") {
  const int status = logship::testing::RunSelfTestCase("heap tuning: probe*", std::string(kProbeEnv) + "=1");
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

#endif
