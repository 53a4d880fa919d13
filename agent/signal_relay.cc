#include "agent/signal_relay.h"

#include <csignal>

#include "common/thread_name.h"
#include "common/thread/mutex.h"

namespace logship::agent {
namespace {

// SIGUSR1 only wakes the relay's thread when it is to end.
sigset_t Handled() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGUSR1}) sigaddset(&set, s);
  return set;
}

}  // namespace

SignalRelay::SignalRelay() {
  const sigset_t set = Handled();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  thread_ = std::thread([this] { Run(); });
}

SignalRelay::~SignalRelay() {
  stopping_ = true;
  pthread_kill(thread_.native_handle(), SIGUSR1);
  thread_.join();
}

void SignalRelay::Attach(uv_async_t* async) {
  MutexLock lock(mu_);
  async_ = async;
  if (pending_.load() != 0) uv_async_send(async_);
}

void SignalRelay::Detach() {
  MutexLock lock(mu_);
  async_ = nullptr;
}

void SignalRelay::Run() {
  SetThreadName("signals");
  const sigset_t set = Handled();
  while (!stopping_) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0 || sig == SIGUSR1) continue;
    pending_ |= sig == SIGHUP ? kReload : kStop;
    MutexLock lock(mu_);
    if (async_ != nullptr) uv_async_send(async_);
  }
}

}  // namespace logship::agent
