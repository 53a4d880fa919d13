// Bounds the bytes of batches being processed across all streams (limits.max_inflight_bytes).
// A stream that cannot get budget stops reading, so gRPC flow control pushes back to the
// agent, whose spool absorbs it. Thread-safe.
//
// Fairness: waiters are served first come, first served, and TryAcquire never jumps the
// queue, so a stream that sends much cannot starve one that sends little: each waits its
// turn for one frame (ingest_service.h bounds the frames a stream may hold).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

#include "common/thread/mutex.h"

namespace logship::collector {

class InflightBudget {
 public:
  explicit InflightBudget(uint64_t max_bytes) : max_(max_bytes) {}

  // Acquire without waiting: false when `bytes` do not fit now (or others wait before it).
  bool TryAcquire(uint64_t bytes);

  // Never blocks. Returns 0 when `bytes` were taken now (a request larger than the whole
  // budget is taken when nothing else is in flight); otherwise queues the
  // request and returns a ticket (> 0). `granted` then runs once the bytes are taken for it,
  // on the thread of the Release that made room, with no lock held; it must not block.
  uint64_t AcquireOrQueue(uint64_t bytes, std::function<void()> granted);
  // Withdraws a queued request. True when it was still queued (`granted` will never run);
  // false when it was already granted (its callback runs or ran).
  bool Cancel(uint64_t ticket);

  void Release(uint64_t bytes);

  uint64_t used() const {
    MutexLock lock(mu_);
    return used_;
  }
  size_t waiting() const {
    MutexLock lock(mu_);
    return queue_.size();
  }

 private:
  struct Waiter {
    uint64_t ticket;
    uint64_t bytes;
    std::function<void()> granted;
  };
  bool FitsLocked(uint64_t bytes) const REQUIRES(mu_) { return used_ == 0 || used_ + bytes <= max_; }
  // Takes budget for the waiters at the head of the queue that fit; their callbacks are
  // returned to be run outside the lock.
  std::vector<std::function<void()>> GrantLocked() REQUIRES(mu_);

  const uint64_t max_;
  mutable Mutex mu_;
  uint64_t used_ GUARDED_BY(mu_) = 0;
  uint64_t next_ticket_ GUARDED_BY(mu_) = 1;
  std::deque<Waiter> queue_ GUARDED_BY(mu_);
};

}  // namespace logship::collector
