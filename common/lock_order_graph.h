// gRPC's locks are absl::Mutex. Debian builds abseil without NDEBUG, so by default every
// absl::Mutex lock also looks itself up in a process-wide lock-order graph (deadlock
// detection). That graph holds a node per live mutex: with thousands of streams (several
// mutexes each) the lookups alone cost about a tenth of the collector's CPU and grow with
// the fleet. logship takes no absl::Mutex of its own; gRPC's lock order is its own concern.
#pragma once

namespace logship {

// Turns the lock-order graph off for the whole process. Call once, first thing in main,
// before gRPC starts any thread.
void DisableLockOrderGraph();

}  // namespace logship
