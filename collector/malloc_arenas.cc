#include "collector/malloc_arenas.h"

#include <malloc.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace logship::collector {

void LimitMallocArenas(unsigned cores) {
  if (std::getenv("MALLOC_ARENA_MAX") != nullptr) return;
  if (const char* t = std::getenv("GLIBC_TUNABLES"); t != nullptr && std::strstr(t, "malloc.arena_max") != nullptr)
    return;
  mallopt(M_ARENA_MAX, static_cast<int>(2 * std::max(1u, cores)));
}

}  // namespace logship::collector
