// Which documents of a batch are already stored, kept for batches whose write ended in
// kRetry. The retry (the collector's, within retry_budget, or the agent's re-send) then
// sends only the rest. Without it every retry re-sends the whole batch: under a sustained
// 429 from a busy write pool the stored documents (answered 409) compete for the same
// slots as the missing ones, and a large batch may never get through in one pass.
//
// A batch is known by its sender and first record id; what is forgotten (more than
// kMaxBatches waiting, a collector restart) is only re-sent, and meets 409. Thread-safe.
#pragma once

#include <cstddef>
#include <list>
#include <string>
#include <unordered_set>
#include <utility>

#include "common/thread/mutex.h"

namespace logship::collector::elasticsearch {

class BatchProgress {
 public:
  static constexpr size_t kMaxBatches = 256;

  // Removes and returns the ids stored by earlier writes of batch `key` (empty if none).
  std::unordered_set<std::string> Take(const std::string& key) {
    MutexLock lock(mu_);
    for (auto it = batches_.begin(); it != batches_.end(); ++it)
      if (it->first == key) {
        std::unordered_set<std::string> ids = std::move(it->second);
        batches_.erase(it);
        return ids;
      }
    return {};
  }

  // Remembers `ids` as stored for batch `key`, dropping the oldest batch beyond kMaxBatches.
  void Keep(std::string key, std::unordered_set<std::string> ids) {
    if (ids.empty()) return;
    MutexLock lock(mu_);
    batches_.emplace_front(std::move(key), std::move(ids));
    if (batches_.size() > kMaxBatches) batches_.pop_back();
  }

  size_t size() const {
    MutexLock lock(mu_);
    return batches_.size();
  }

 private:
  mutable Mutex mu_;
  std::list<std::pair<std::string, std::unordered_set<std::string>>> batches_ GUARDED_BY(mu_);
};

}  // namespace logship::collector::elasticsearch
