#pragma once

#include <string>

#include "collector/collector_config.h"

namespace logship::collector {

// Runs the collector until SIGINT/SIGTERM; SIGHUP re-reads `config_path`. Returns the exit
// code (0 clean, 1 failure).
// REQUIRES: called on the main thread before any other thread exists (signals are masked).
int RunCollector(const CollectorConfig& config, const std::string& config_path);

}  // namespace logship::collector
