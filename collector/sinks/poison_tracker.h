// Bounds how long one record may keep failing with an error a retry might cure (a 5xx on
// one document, a retryable SQLSTATE on one row). Such a record is retried with its batch;
// once it has failed for `give_up_after` and the sink is shown to work otherwise (other
// writes succeeded since it first failed, or its neighbours in the same batch were taken),
// it goes to the dead letter. A sink that is down as a whole never dead-letters anything
// this way. Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <string>

#include "common/thread/mutex.h"

namespace logship::collector {

class PoisonTracker {
 public:
  using Clock = std::chrono::steady_clock;
  explicit PoisonTracker(std::chrono::milliseconds give_up_after, size_t max_tracked = 100000)
      : after_(give_up_after), max_(max_tracked) {}

  // Some write of the sink committed at `now`.
  void Succeeded(Clock::time_point now = Clock::now());
  struct Verdict {
    bool expired = false;           // failing for give_up_after or longer
    bool others_succeeded = false;  // some write committed since it first failed
    bool give_up() const { return expired && others_succeeded; }
  };
  // Record `id` (or a batch key) failed again, retryably, at `now`.
  Verdict Failed(const std::string& id, Clock::time_point now = Clock::now());
  // The record was stored or dead-lettered: stop tracking it.
  void Forget(const std::string& id);
  std::chrono::milliseconds give_up_after() const { return after_; }

 private:
  const std::chrono::milliseconds after_;
  const size_t max_;
  Mutex mu_;
  Clock::time_point last_success_ GUARDED_BY(mu_) {};
  std::map<std::string, Clock::time_point> first_ GUARDED_BY(mu_);  // id → first failure
  std::deque<std::string> order_ GUARDED_BY(mu_);  // for eviction, oldest first
};

}  // namespace logship::collector
