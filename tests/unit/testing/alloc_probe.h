// Records the largest single operator-new allocation made while a probe is active, so a
// test can check that a limit was enforced *before* allocating (e.g. a zstd bomb).
// alloc_probe.cc replaces the global operator new/delete for the whole test binary.
// Not thread-safe: use one probe at a time on the test's thread.
#pragma once

#include <cstddef>

namespace logship::testing {

class AllocProbe {
 public:
  AllocProbe();
  ~AllocProbe();
  AllocProbe(const AllocProbe&) = delete;
  AllocProbe& operator=(const AllocProbe&) = delete;

  // Largest single allocation (bytes) requested since construction.
  size_t largest() const;
};

}  // namespace logship::testing
