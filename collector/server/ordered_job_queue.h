// Jobs started in the order posted, at most `width` running at once, on a shared WorkPool and
// without a thread of their own: one stream's frames (width 1: one at a time, in order).
// Held by shared_ptr: a queued run keeps the queue alive even after its owner is gone.
// Thread-safe.
#pragma once

#include <deque>
#include <functional>
#include <memory>

#include "collector/server/work_pool.h"
#include "common/thread/mutex.h"

namespace logship::collector {

class OrderedJobQueue : public std::enable_shared_from_this<OrderedJobQueue> {
 public:
  // `pool` must outlive every job posted; `width` ≥ 1.
  static std::shared_ptr<OrderedJobQueue> Create(WorkPool& pool, int width = 1) {
    return std::shared_ptr<OrderedJobQueue>(new OrderedJobQueue(pool, width < 1 ? 1 : width));
  }

  // Runs `job` on the calling thread, now, when nothing of this queue is queued and fewer than
  // `width` jobs run (saving a hand-off to another thread); false, and `job` not run,
  // otherwise. `claimed` runs first, once `job` holds its place (it starts before any job
  // posted later). Jobs posted meanwhile run after it, on the pool. `job` may destroy the
  // queue's owner.
  bool RunHereIfIdle(const std::function<void()>& job, const std::function<void()>& claimed = {}) {
    auto self = shared_from_this();
    {
      MutexLock lock(mu_);
      if (runners_ >= width_ || !jobs_.empty()) return false;
      ++runners_;
    }
    if (claimed) claimed();
    job();
    if (released_ == this) {
      released_ = nullptr;
      return true;
    }
    if (StopRunningIfEmpty()) return true;
    pool_.Submit([self] { self->Run(); });
    return true;
  }

  // Called by a job of this queue, on its thread, before it blocks for long (a write): the
  // jobs after it start without waiting for it (on another thread), and the thread running
  // it leaves the queue when it returns.
  void ReleaseRunner() {
    bool more = false;
    {
      MutexLock lock(mu_);
      if (!jobs_.empty()) more = true;  // this runner's place passes on
      else --runners_;
    }
    released_ = this;
    if (more) pool_.Submit([self = shared_from_this()] { self->Run(); });
  }

  // True when no job waits (some may be running).
  bool NothingQueued() {
    MutexLock lock(mu_);
    return jobs_.empty();
  }

  // Starts `job` after every job posted before it has started, on a pool thread.
  void Post(std::function<void()> job) {
    {
      MutexLock lock(mu_);
      jobs_.push_back(std::move(job));
      if (runners_ >= width_) return;
      ++runners_;
    }
    pool_.Submit([self = shared_from_this()] { self->Run(); });
  }

 private:
  OrderedJobQueue(WorkPool& pool, int width) : pool_(pool), width_(width) {}

  // Gives up this runner's place when nothing waits; true if it did.
  bool StopRunningIfEmpty() {
    MutexLock lock(mu_);
    if (!jobs_.empty()) return false;
    --runners_;
    return true;
  }

  // A few jobs per turn, then back in the pool's line: one busy stream cannot hold a thread.
  void Run() {
    for (int i = 0; i < kJobsPerTurn; ++i) {
      std::function<void()> job;
      {
        MutexLock lock(mu_);
        if (jobs_.empty()) {
          --runners_;
          return;
        }
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
      if (released_ == this) {  // the job gave this runner's place away
        released_ = nullptr;
        return;
      }
    }
    if (StopRunningIfEmpty()) return;
    pool_.Submit([self = shared_from_this()] { self->Run(); });
  }

  static constexpr int kJobsPerTurn = 4;
  static inline thread_local OrderedJobQueue* released_ = nullptr;  // ReleaseRunner's mark
  WorkPool& pool_;
  const int width_;
  Mutex mu_;
  std::deque<std::function<void()>> jobs_ GUARDED_BY(mu_);
  int runners_ GUARDED_BY(mu_) = 0;  // jobs running or runners submitted, ≤ width_
};

}  // namespace logship::collector
