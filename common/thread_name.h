// Names the calling thread (at most 15 characters), so `top -H`, perf and gdb show what
// each thread is. Best effort: a failure only loses the name.
#pragma once

#include <pthread.h>

namespace logship {

inline void SetThreadName(const char* name) { (void)pthread_setname_np(pthread_self(), name); }

}  // namespace logship
