// The other half of a bidirectional stream: a thread that runs beside the calling one for
// the length of a scope (the agent reads acks while it sends frames; the collector writes to
// the sinks and acks while it decodes the next frame). gRPC allows one Read and one Write in
// flight from different threads, and these are those two.
//
// Joined on every way out of the scope: `wind_down` runs first (close a handoff, cancel the
// call) so the thread can return. Join() may be called earlier; it is idempotent.
// Construct and destroy on the same thread.
#pragma once

#include <functional>
#include <string>
#include <thread>
#include <utility>

#include "common/thread_name.h"

namespace logship {

class CompanionThread {
 public:
  CompanionThread(std::string name, std::function<void()> body, std::function<void()> wind_down)
      : wind_down_(std::move(wind_down)), thread_([name = std::move(name), body = std::move(body)] {
          SetThreadName(name.c_str());
          body();
        }) {}
  ~CompanionThread() { Join(); }
  CompanionThread(const CompanionThread&) = delete;
  CompanionThread& operator=(const CompanionThread&) = delete;

  void Join() {
    if (!thread_.joinable()) return;
    if (wind_down_) wind_down_();
    thread_.join();
  }

 private:
  std::function<void()> wind_down_;
  std::thread thread_;
};

}  // namespace logship
