#include "collector/sinks/poison_tracker.h"

namespace logship::collector {

void PoisonTracker::Succeeded(Clock::time_point now) {
  MutexLock lock(mu_);
  if (now > last_success_) last_success_ = now;
}

PoisonTracker::Verdict PoisonTracker::Failed(const std::string& id, Clock::time_point now) {
  MutexLock lock(mu_);
  auto [it, inserted] = first_.try_emplace(id, now);
  if (inserted) {
    order_.push_back(id);
    // Bounded memory: the oldest entries go (they start over if they fail again).
    while (first_.size() > max_ && !order_.empty()) {
      first_.erase(order_.front());
      order_.pop_front();
    }
    return {};
  }
  return {now - it->second >= after_, last_success_ > it->second};
}

void PoisonTracker::Forget(const std::string& id) {
  MutexLock lock(mu_);
  first_.erase(id);  // its entry in order_ goes when it reaches the front
}

}  // namespace logship::collector
