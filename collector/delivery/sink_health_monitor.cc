#include "collector/delivery/sink_health_monitor.h"

#include <chrono>

#include "common/log.h"
#include "logship/v1/ingest.grpc.pb.h"

namespace logship::collector {
namespace {
constexpr std::string_view kComponent = "health";
}

SinkHealthMonitor::SinkHealthMonitor(std::vector<Sink*> sinks, grpc::HealthCheckServiceInterface* health, SinkHealthConfig config)
    : sinks_(std::move(sinks)), health_(health), config_(config) {}

SinkHealthMonitor::~SinkHealthMonitor() { Stop(); }

void SinkHealthMonitor::Start() { thread_ = std::thread([this] { Run(); }); }

void SinkHealthMonitor::Stop() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  wake_.NotifyAll();
  if (thread_.joinable()) thread_.join();
}

std::string SinkHealthMonitor::reason() const {
  MutexLock lock(mu_);
  return reason_;
}

std::string SinkHealthMonitor::failing_sinks() const {
  MutexLock lock(mu_);
  return failing_sinks_;
}

void SinkHealthMonitor::Run() {
  using Clock = std::chrono::steady_clock;
  std::vector<Clock::time_point> failing_since(sinks_.size());
  std::vector<bool> failing(sinks_.size(), false);
  for (;;) {
    std::string why, names;
    for (size_t i = 0; i < sinks_.size(); ++i) {
      const Status s = sinks_[i]->HealthCheck();
      if (s.ok()) {
        if (failing[i]) LogInfo(kComponent, std::string(sinks_[i]->name()) + " sink is reachable again");
        failing[i] = false;
        continue;
      }
      if (!failing[i]) {
        failing[i] = true;
        failing_since[i] = Clock::now();
        LogWarn(kComponent, std::string(sinks_[i]->name()) + " sink check failed: " + s.message());
      }
      if (Clock::now() - failing_since[i] >= config_.unhealthy_after) {
        why += std::string(sinks_[i]->name()) + ": " + s.message() + "; ";
        names += (names.empty() ? "" : ", ") + std::string(sinks_[i]->name());
      }
    }
    const bool now_healthy = why.empty();
    if (now_healthy != healthy_.load()) {
      health_->SetServingStatus(logship::v1::Ingest::service_full_name(), now_healthy);
      if (now_healthy) LogInfo(kComponent, "logship.v1.Ingest is SERVING again");
      else LogError(kComponent, "logship.v1.Ingest is NOT_SERVING: " + why);
      healthy_ = now_healthy;
    }
    MutexLock lock(mu_);
    reason_ = why;
    failing_sinks_ = names;
    const auto until = std::chrono::steady_clock::now() + config_.check_interval;
    while (!stopping_ && wake_.WaitUntil(mu_, until)) {
    }
    if (stopping_) return;
  }
}

}  // namespace logship::collector
