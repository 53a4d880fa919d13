// Clang's thread-safety attributes (-Wthread-safety), as Abseil and LevelDB spell them:
// GUARDED_BY(mu) on a member, REQUIRES(mu) / EXCLUDES(mu) on a function state a locking
// contract the compiler checks (scripts/check-thread-safety.sh, ctest `thread_safety`).
// Other compilers see nothing. Abseil (through gRPC) defines some of the same names to the
// same attributes; theirs are kept.
#pragma once

#if defined(__clang__)
#define LOGSHIP_THREAD_ATTRIBUTE(x) __attribute__((x))
#else
#define LOGSHIP_THREAD_ATTRIBUTE(x)
#endif

#ifndef CAPABILITY
#define CAPABILITY(x) LOGSHIP_THREAD_ATTRIBUTE(capability(x))
#endif
#ifndef SCOPED_CAPABILITY
#define SCOPED_CAPABILITY LOGSHIP_THREAD_ATTRIBUTE(scoped_lockable)
#endif
#ifndef GUARDED_BY
#define GUARDED_BY(x) LOGSHIP_THREAD_ATTRIBUTE(guarded_by(x))
#endif
#ifndef PT_GUARDED_BY
#define PT_GUARDED_BY(x) LOGSHIP_THREAD_ATTRIBUTE(pt_guarded_by(x))
#endif
#ifndef REQUIRES
#define REQUIRES(...) LOGSHIP_THREAD_ATTRIBUTE(requires_capability(__VA_ARGS__))
#endif
#ifndef EXCLUDES
#define EXCLUDES(...) LOGSHIP_THREAD_ATTRIBUTE(locks_excluded(__VA_ARGS__))
#endif
#ifndef ACQUIRE
#define ACQUIRE(...) LOGSHIP_THREAD_ATTRIBUTE(acquire_capability(__VA_ARGS__))
#endif
#ifndef RELEASE
#define RELEASE(...) LOGSHIP_THREAD_ATTRIBUTE(release_capability(__VA_ARGS__))
#endif
#ifndef NO_THREAD_SAFETY_ANALYSIS
#define NO_THREAD_SAFETY_ANALYSIS LOGSHIP_THREAD_ATTRIBUTE(no_thread_safety_analysis)
#endif
