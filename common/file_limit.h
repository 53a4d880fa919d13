// The process's open-file limit. Each agent connection holds a descriptor, so a collector
// for thousands of hosts needs more than the usual soft limit of 1024 (systemd's default):
// like Go's runtime, the collector raises its soft limit to the hard one at start.
#pragma once

#include <cstdint>

namespace logship {

struct FileLimit {
  uint64_t before = 0;  // soft limit found
  uint64_t after = 0;   // soft limit now (the hard limit, when raising worked)
};

// Raises RLIMIT_NOFILE's soft limit to its hard limit. Never fails: on error `after` is
// what remains in force.
FileLimit RaiseFileLimit();

}  // namespace logship
