// How many malloc arenas the collector's threads share. glibc gives each new thread an
// arena of its own, up to 8 per core, and each arena keeps freed memory for reuse. Batch-
// sized blocks (decompressed frames, decoded batches, COPY buffers: 0.1–4 MiB) pass through
// 32 ingest workers and gRPC's threads, so that kept memory was most of the collector's RSS:
// one agent at full speed, 105 MiB with 16 arenas, 55 MiB with 4, and no more CPU.
#pragma once

namespace logship::collector {

// Caps the arenas at two per core, unless the operator chose (MALLOC_ARENA_MAX, or
// glibc.malloc.arena_max in GLIBC_TUNABLES). Call first in main, before any thread starts.
// No effect under ASan (its own allocator).
void LimitMallocArenas(unsigned cores);

}  // namespace logship::collector
