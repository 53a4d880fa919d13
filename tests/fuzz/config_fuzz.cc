// Fuzzes the YAML configuration loaders: any input is a valid config or a ConfigError,
// never a crash or another exception.
#include <cstdint>
#include <string>

#include "agent/agent_config.h"
#include "collector/collector_config.h"
#include "common/config/config_node.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    (void)logship::agent::ParseAgentConfig(text, "fuzz.yaml");
  } catch (const logship::ConfigError&) {
  }
  try {
    (void)logship::collector::ParseCollectorConfig(text, "fuzz.yaml");
  } catch (const logship::ConfigError&) {
  }
  return 0;
}
