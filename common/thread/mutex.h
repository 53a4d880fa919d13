// A mutex, its scoped lock and a condition variable that clang's -Wthread-safety can follow
// (thread_annotations.h). std::mutex carries no annotations in libstdc++, so a member
// GUARDED_BY a std::mutex could not be checked.
//
// Waiting: write the predicate as a loop in the function that holds the lock
// (`while (!ready_) cv_.Wait(mu_);`): the analysis does not see into lambdas.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "common/thread/thread_annotations.h"

namespace logship {

class CAPABILITY("mutex") Mutex {
 public:
  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  // BasicLockable, for CondVar's std::condition_variable_any.
  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

// Holds `mu` for its scope.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.Lock(); }
  ~MutexLock() RELEASE() { mu_.Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mu_;
};

class CondVar {
 public:
  // REQUIRES: `mu` held; it is released while waiting and held again on return.
  void Wait(Mutex& mu) REQUIRES(mu) { cv_.wait(mu); }
  // False on timeout.
  template <typename Rep, typename Period>
  bool WaitFor(Mutex& mu, std::chrono::duration<Rep, Period> d) REQUIRES(mu) {
    return cv_.wait_for(mu, d) == std::cv_status::no_timeout;
  }
  template <typename Clock, typename Duration>
  bool WaitUntil(Mutex& mu, std::chrono::time_point<Clock, Duration> t) REQUIRES(mu) {
    return cv_.wait_until(mu, t) == std::cv_status::no_timeout;
  }
  void NotifyOne() { cv_.notify_one(); }
  void NotifyAll() { cv_.notify_all(); }

 private:
  std::condition_variable_any cv_;
};

}  // namespace logship
