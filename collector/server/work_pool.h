// A fixed set of threads running submitted jobs, with a bounded queue: work that gRPC's
// callback threads must not block on (sink writes). TrySubmit refuses when the queue is
// full, so a burst cannot pile up unbounded memory; the caller answers "busy".
// Thread-safe. The destructor runs what is queued, then joins.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "common/thread/mutex.h"

namespace logship::collector {

class WorkPool {
 public:
  WorkPool(size_t threads, size_t max_queued, std::string name);
  ~WorkPool();
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  // False (and `job` dropped unrun) when max_queued jobs already wait.
  bool TrySubmit(std::function<void()> job);
  // Always queues (callers bound their own work: one job per stream at a time, OrderedJobQueue).
  // After the destructor began, `job` is dropped.
  void Submit(std::function<void()> job);

 private:
  void Run();

  const size_t max_queued_;
  const std::string name_;
  Mutex mu_;
  CondVar wake_;
  std::deque<std::function<void()>> queue_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace logship::collector
