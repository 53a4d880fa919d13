#include "collector/server/work_pool.h"

#include "common/thread_name.h"

namespace logship::collector {

WorkPool::WorkPool(size_t threads, size_t max_queued, std::string name)
    : max_queued_(max_queued), name_(std::move(name)) {
  for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
}

WorkPool::~WorkPool() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  wake_.NotifyAll();
  for (auto& t : threads_) t.join();
}

bool WorkPool::TrySubmit(std::function<void()> job) {
  {
    MutexLock lock(mu_);
    if (stopping_ || queue_.size() >= max_queued_) return false;
    queue_.push_back(std::move(job));
  }
  wake_.NotifyOne();
  return true;
}

void WorkPool::Submit(std::function<void()> job) {
  {
    MutexLock lock(mu_);
    if (stopping_) return;
    queue_.push_back(std::move(job));
  }
  wake_.NotifyOne();
}

void WorkPool::Run() {
  SetThreadName(name_.c_str());
  for (;;) {
    std::function<void()> job;
    {
      MutexLock lock(mu_);
      while (!stopping_ && queue_.empty()) wake_.Wait(mu_);
      if (queue_.empty()) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    job();
  }
}

}  // namespace logship::collector
