#include "agent/heap_tuning.h"

#include <malloc.h>

namespace logship::agent {

void TuneHeapForBatches() {
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  mallopt(M_TRIM_THRESHOLD, 8 << 20);
}

}  // namespace logship::agent
