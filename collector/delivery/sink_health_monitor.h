// Watches the sinks' health checks on its own thread and drives the gRPC health status of
// "logship.v1.Ingest": NOT_SERVING once a sink has been failing for longer than
// `unhealthy_after`, SERVING again as soon as it passes. The overall status ("") stays
// SERVING while the process runs. Start/Stop from the main thread; healthy() from any.
#pragma once

#include <grpcpp/health_check_service_interface.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "collector/sinks/sink.h"
#include "common/thread/mutex.h"

namespace logship::collector {

// `health:` in collector.yaml.
struct SinkHealthConfig {
  std::chrono::milliseconds check_interval{5000};   // sink health checks
  std::chrono::milliseconds unhealthy_after{30000}; // logship.v1.Ingest NOT_SERVING after this long
};

class SinkHealthMonitor {
 public:
  // `sinks` and `health` must outlive the monitor.
  SinkHealthMonitor(std::vector<Sink*> sinks, grpc::HealthCheckServiceInterface* health, SinkHealthConfig config);
  ~SinkHealthMonitor();
  void Start();
  void Stop();
  bool healthy() const { return healthy_.load(); }
  // Why it is unhealthy (empty when healthy): sink errors, which may name hosts and users,
  // so only for logs and the authenticated console.
  std::string reason() const;
  // Just the names of the failing sinks ("postgres, elasticsearch"), safe for /healthz.
  std::string failing_sinks() const;

 private:
  void Run();

  const std::vector<Sink*> sinks_;
  grpc::HealthCheckServiceInterface* health_;
  const SinkHealthConfig config_;
  std::atomic<bool> healthy_{true};
  std::thread thread_;
  mutable Mutex mu_;
  CondVar wake_;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::string reason_ GUARDED_BY(mu_);
  std::string failing_sinks_ GUARDED_BY(mu_);
};

}  // namespace logship::collector
