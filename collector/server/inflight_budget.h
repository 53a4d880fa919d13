// Bounds the bytes of batches being processed across all streams (limits.max_inflight_bytes).
// A stream that cannot get budget waits before decoding, so it stops reading and gRPC flow
// control pushes back to the agent, whose spool absorbs it. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

#include "common/thread/mutex.h"

namespace logship::collector {

class InflightBudget {
 public:
  explicit InflightBudget(uint64_t max_bytes) : max_(max_bytes) {}

  // Blocks until `bytes` fit (a request larger than the whole budget waits until nothing
  // else is in flight). Gives up, returning false, once `cancelled()` says so.
  bool Acquire(uint64_t bytes, const std::function<bool()>& cancelled) {
    MutexLock lock(mu_);
    while (used_ != 0 && used_ + bytes > max_) {
      if (cancelled()) return false;
      freed_.WaitFor(mu_, std::chrono::milliseconds(100));
    }
    used_ += bytes;
    return true;
  }

  // Acquire without waiting: false when `bytes` do not fit now.
  bool TryAcquire(uint64_t bytes) {
    MutexLock lock(mu_);
    if (used_ != 0 && used_ + bytes > max_) return false;
    used_ += bytes;
    return true;
  }

  void Release(uint64_t bytes) {
    {
      MutexLock lock(mu_);
      used_ -= bytes;
    }
    freed_.NotifyAll();
  }

  uint64_t used() const {
    MutexLock lock(mu_);
    return used_;
  }

 private:
  const uint64_t max_;
  mutable Mutex mu_;
  CondVar freed_;
  uint64_t used_ GUARDED_BY(mu_) = 0;
};

}  // namespace logship::collector
