// SIGINT, SIGTERM and SIGHUP for the whole agent process. They are blocked in every thread
// from the first line of main (so every thread started later inherits that) and taken by
// one thread with sigwait: none is lost, and none takes its default action (killing the
// process) while the agent starts, reloads or stops. Each arrival is recorded and, when a
// loop is attached, handed to it through its uv_async_t.
//
// Threads: construct in main before any other thread; Attach/Detach/Take from the loop
// thread; the relay's own thread only records and wakes.
#pragma once

#include <uv.h>

#include <atomic>
#include <mutex>
#include <pthread.h>
#include <thread>

#include "common/thread/mutex.h"

namespace logship::agent {

class SignalRelay {
 public:
  static constexpr int kStop = 1;    // SIGINT, SIGTERM
  static constexpr int kReload = 2;  // SIGHUP

  SignalRelay();
  ~SignalRelay();
  SignalRelay(const SignalRelay&) = delete;
  SignalRelay& operator=(const SignalRelay&) = delete;

  // Signals are delivered by uv_async_send(async) from now on (and at once if some wait).
  void Attach(uv_async_t* async);
  void Detach();
  // What arrived since the last call (kStop | kReload bits).
  int Take() { return pending_.exchange(0); }

 private:
  void Run();

  std::atomic<int> pending_{0};
  std::atomic<bool> stopping_{false};
  Mutex mu_;
  uv_async_t* async_ GUARDED_BY(mu_) = nullptr;
  std::thread thread_;
};

}  // namespace logship::agent
