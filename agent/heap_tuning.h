// How the agent's heap keeps memory. The agent allocates and frees batch-sized buffers
// (0.1–1 MiB: a batch being built, its serialized and compressed forms, spool reads) many
// times a second. By default glibc serves blocks over 128 KiB with mmap and gives the heap's
// free top back to the kernel once it passes twice that (both thresholds then drift), so
// batches kept faulting freshly zeroed pages in: 5–8% of the agent's CPU at full speed.
#pragma once

namespace logship::agent {

// Blocks up to 4 MiB come from the heap, and up to 8 MiB of free heap top is kept (RSS grew
// by about 1 MiB at full speed). Call once at the start of main. No effect under ASan.
void TuneHeapForBatches();

}  // namespace logship::agent
