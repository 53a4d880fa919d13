// The agent process: wires spool, checkpoints, sources, pipeline and shipper, and runs the
// libuv loop until SIGINT/SIGTERM. Construct and Run on the main thread.
#pragma once

#include <string>

#include "agent/agent_config.h"

namespace logship::agent {

// Runs until SIGINT/SIGTERM; SIGHUP re-reads `config_path` (a bad file is reported and the
// running configuration stays). Returns the process exit code: 0 after a clean shutdown,
// 1 on a runtime failure.
int RunAgent(const AgentConfig& config, const std::string& config_path);

}  // namespace logship::agent
