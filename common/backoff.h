// Capped exponential backoff with full jitter: how long to wait before trying again (the
// shipper's reconnects, an optional sink's retries). Not thread-safe.
#pragma once

#include <algorithm>
#include <chrono>
#include <optional>
#include <random>

namespace logship {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max) : min_(min), max_(max), next_(min) {}
  // A uniformly random delay in [min, current ceiling]; the ceiling doubles up to max.
  std::chrono::milliseconds Next() {
    // Seeded on first use: most users (a sink write per batch) never back off, and seeding
    // from std::random_device costs a system call.
    if (!rng_) rng_.emplace(std::random_device{}());
    std::uniform_int_distribution<long> d(min_.count(), std::max(min_.count(), next_.count()));
    const auto delay = std::chrono::milliseconds(d(*rng_));
    next_ = std::min(max_, next_ * 2);
    return delay;
  }
  void Reset() { next_ = min_; }

 private:
  std::chrono::milliseconds min_, max_, next_;
  std::optional<std::mt19937_64> rng_;
};

}  // namespace logship
