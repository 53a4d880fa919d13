#include "collector/server/inflight_budget.h"

#include <algorithm>

namespace logship::collector {

bool InflightBudget::TryAcquire(uint64_t bytes) {
  MutexLock lock(mu_);
  if (!queue_.empty() || !FitsLocked(bytes)) return false;
  used_ += bytes;
  return true;
}

uint64_t InflightBudget::AcquireOrQueue(uint64_t bytes, std::function<void()> granted) {
  MutexLock lock(mu_);
  if (queue_.empty() && FitsLocked(bytes)) {
    used_ += bytes;
    return 0;
  }
  const uint64_t ticket = next_ticket_++;
  queue_.push_back({ticket, bytes, std::move(granted)});
  return ticket;
}

bool InflightBudget::Cancel(uint64_t ticket) {
  std::vector<std::function<void()>> run;
  bool found = false;
  {
    MutexLock lock(mu_);
    auto it = std::find_if(queue_.begin(), queue_.end(), [ticket](const Waiter& w) { return w.ticket == ticket; });
    if (it == queue_.end()) return false;
    queue_.erase(it);
    found = true;
    run = GrantLocked();  // the head may have been waiting behind it
  }
  for (auto& f : run) f();
  return found;
}

void InflightBudget::Release(uint64_t bytes) {
  std::vector<std::function<void()>> run;
  {
    MutexLock lock(mu_);
    used_ -= bytes;
    run = GrantLocked();
  }
  for (auto& f : run) f();
}

std::vector<std::function<void()>> InflightBudget::GrantLocked() {
  std::vector<std::function<void()>> run;
  while (!queue_.empty() && FitsLocked(queue_.front().bytes)) {
    used_ += queue_.front().bytes;
    run.push_back(std::move(queue_.front().granted));
    queue_.pop_front();
  }
  return run;
}

}  // namespace logship::collector
