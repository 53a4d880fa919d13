#include "collector/healthcheck.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <iostream>

#include "grpc/health/v1/health.grpc.pb.h"

namespace logship::collector {

int RunHealthcheck(const std::string& address, int timeout_ms) {
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  const grpc::Status st = stub->Check(&ctx, req, &resp);
  if (!st.ok()) {
    std::cerr << "healthcheck " << address << ": " << st.error_message() << "\n";
    return 1;
  }
  if (resp.status() != grpc::health::v1::HealthCheckResponse::SERVING) {
    std::cerr << "healthcheck " << address << ": "
              << grpc::health::v1::HealthCheckResponse::ServingStatus_Name(resp.status()) << "\n";
    return 1;
  }
  std::cout << "SERVING\n";
  return 0;
}

}  // namespace logship::collector
