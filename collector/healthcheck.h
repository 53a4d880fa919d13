#pragma once

#include <string>

namespace logship::collector {

// Asks the grpc.health.v1 service at `address` about the overall server (""). Returns the
// exit code of `logship-collector healthcheck`: 0 when SERVING, 1 otherwise.
int RunHealthcheck(const std::string& address, int timeout_ms);

}  // namespace logship::collector
