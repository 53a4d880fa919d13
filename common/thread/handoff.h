// One item at a time from a producing thread to a consuming one: Put waits while the slot is
// full, Take while it is empty. Close ends it: Put then refuses, and Take returns what is
// left, then nothing. Thread-safe.
#pragma once

#include <optional>
#include <utility>

#include "common/thread/mutex.h"

namespace logship {

template <typename T>
class Handoff {
 public:
  // False when closed (the item is dropped).
  bool Put(T item) EXCLUDES(mu_) {
    {
      MutexLock lock(mu_);
      while (slot_.has_value() && !closed_) cv_.Wait(mu_);
      if (closed_) return false;
      slot_ = std::move(item);
    }
    cv_.NotifyAll();
    return true;
  }
  // nullopt once closed and empty.
  std::optional<T> Take() EXCLUDES(mu_) {
    std::optional<T> out;
    {
      MutexLock lock(mu_);
      while (!slot_.has_value() && !closed_) cv_.Wait(mu_);
      out = std::move(slot_);
      slot_.reset();
    }
    cv_.NotifyAll();
    return out;
  }
  void Close() EXCLUDES(mu_) {
    {
      MutexLock lock(mu_);
      closed_ = true;
    }
    cv_.NotifyAll();
  }

 private:
  Mutex mu_;
  CondVar cv_;
  std::optional<T> slot_ GUARDED_BY(mu_);
  bool closed_ GUARDED_BY(mu_) = false;
};

}  // namespace logship
