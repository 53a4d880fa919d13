#include "collector/cli/healthcheck_probe.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <iostream>

#include "common/grpc_tls.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace logship::collector {

int RunHealthcheck(const std::string& address, int timeout_ms, const HealthcheckTls& tls, const std::string& service) {
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  grpc::ChannelArguments args;
  if (!tls.ca_file.empty()) {
    auto built = ClientTlsCredentials({"healthcheck --tls", tls.ca_file, tls.cert_file, tls.key_file});
    if (!built.ok()) {
      std::cerr << "healthcheck: " << built.status().message() << "\n";
      return 1;
    }
    creds = *built;
    if (!tls.server_name.empty()) args.SetSslTargetNameOverride(tls.server_name);
  }
  auto channel = grpc::CreateCustomChannel(address, creds, args);
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));
  grpc::health::v1::HealthCheckRequest req;
  req.set_service(service);
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
