// Jobs that must run one at a time and in order (one stream's frames) on a shared WorkPool,
// without a thread of their own. Held by shared_ptr: a queued run keeps the queue alive
// even after its owner is gone. Thread-safe.
#pragma once

#include <deque>
#include <functional>
#include <memory>

#include "collector/server/work_pool.h"
#include "common/thread/mutex.h"

namespace logship::collector {

class SerialQueue : public std::enable_shared_from_this<SerialQueue> {
 public:
  // `pool` must outlive every job posted.
  static std::shared_ptr<SerialQueue> Create(WorkPool& pool) {
    return std::shared_ptr<SerialQueue>(new SerialQueue(pool));
  }

  // Runs `job` on the calling thread, now, when nothing of this queue is queued or running
  // (saving a hand-off to another thread); false, and `job` not run, otherwise. Jobs posted
  // meanwhile run after it, on the pool. `job` may destroy the queue's owner.
  bool RunHereIfIdle(const std::function<void()>& job) {
    auto self = shared_from_this();
    {
      MutexLock lock(mu_);
      if (running_ || !jobs_.empty()) return false;
      running_ = true;
    }
    job();
    {
      MutexLock lock(mu_);
      if (jobs_.empty()) {
        running_ = false;
        return true;
      }
    }
    pool_.Submit([self] { self->Run(); });
    return true;
  }

  // True when no job waits (one may be running).
  bool NothingQueued() {
    MutexLock lock(mu_);
    return jobs_.empty();
  }

  // Runs `job` after every job posted before it, on a pool thread.
  void Post(std::function<void()> job) {
    {
      MutexLock lock(mu_);
      jobs_.push_back(std::move(job));
      if (running_) return;
      running_ = true;
    }
    pool_.Submit([self = shared_from_this()] { self->Run(); });
  }

 private:
  explicit SerialQueue(WorkPool& pool) : pool_(pool) {}

  // A few jobs per turn, then back in the pool's line: one busy stream cannot hold a thread.
  void Run() {
    for (int i = 0; i < kJobsPerTurn; ++i) {
      std::function<void()> job;
      {
        MutexLock lock(mu_);
        if (jobs_.empty()) {
          running_ = false;
          return;
        }
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
    {
      MutexLock lock(mu_);
      if (jobs_.empty()) {
        running_ = false;
        return;
      }
    }
    pool_.Submit([self = shared_from_this()] { self->Run(); });
  }

  static constexpr int kJobsPerTurn = 4;
  WorkPool& pool_;
  Mutex mu_;
  std::deque<std::function<void()>> jobs_ GUARDED_BY(mu_);
  bool running_ GUARDED_BY(mu_) = false;
};

}  // namespace logship::collector
