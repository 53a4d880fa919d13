#include "common/lock_order_graph.h"

#include <absl/synchronization/mutex.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "tests/unit/testing/run_self.h"

namespace {

constexpr const char* kProbeEnv = "LOGSHIP_LOCK_ORDER_PROBE";

// In the fresh process: locks two absl::Mutex (what gRPC locks) in one order, then the
// other. While abseil tracks lock order (its default unless built with NDEBUG, and Debian's
// is not), the second order aborts the process.
[[noreturn]] void Probe(bool disable_graph) {
  const int null = open("/dev/null", O_WRONLY);
  if (null >= 0) dup2(null, STDERR_FILENO);  // abseil's deadlock report
  if (disable_graph) logship::DisableLockOrderGraph();
  absl::Mutex a, b;
  {
    absl::MutexLock la(&a);
    absl::MutexLock lb(&b);
  }
  {
    absl::MutexLock lb(&b);
    absl::MutexLock la(&a);
  }
  std::_Exit(0);
}

}  // namespace

TEST_CASE("lock order graph: probe (runs only in the process the next test starts)") {
  if (const char* mode = std::getenv(kProbeEnv)) Probe(std::string(mode) == "off");
}

TEST_CASE("lock order graph: turned off, abseil keeps no per-mutex lock graph") {
  const std::string probe = "lock order graph: probe*";
  // The default, for the record: on this machine's abseil the graph is on.
  const int by_default = logship::testing::RunSelfTestCase(probe, std::string(kProbeEnv) + "=default");
  const std::string mode = WIFSIGNALED(by_default) ? "tracks lock order" : "tracks no lock order";
  MESSAGE("abseil's default here " << mode);
  const int off = logship::testing::RunSelfTestCase(probe, std::string(kProbeEnv) + "=off");
  REQUIRE(WIFEXITED(off));
  CHECK(WEXITSTATUS(off) == 0);
}
