// logship-agent: command line entry point. Exit codes: 0 ok, 1 runtime failure,
// 2 bad configuration or usage.
#include <CLI/CLI.hpp>

#include <pthread.h>

#include <csignal>
#include <iostream>

#include "agent/agent.h"
#include "agent/agent_config.h"
#include "agent/heap_tuning.h"
#include "common/config/config_node.h"
#include "common/lock_order_graph.h"
#include "common/version.h"

// Before anything else (static initialisation included): the stop and reload signals are
// blocked from here on and taken by the agent's SignalRelay, so one that arrives while the
// agent starts is handled, not fatal. (Only the loader's own few milliseconds before this
// remain.)
[[maybe_unused]] static const bool kSignalsBlocked = [] {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, s);
  return pthread_sigmask(SIG_BLOCK, &set, nullptr) == 0;
}();

int main(int argc, char** argv) {
  logship::DisableLockOrderGraph();
  logship::agent::TuneHeapForBatches();
  CLI::App app{"logship-agent: tails log files and ships them to a logship collector"};
  std::string config_path = "/etc/logship/agent.yaml";
  bool check_only = false;
  app.add_option("-c,--config", config_path, "configuration file")->capture_default_str();
  app.add_flag("--check-config", check_only, "validate the configuration and exit");
  app.set_version_flag("--version", std::string("logship-agent ") + LOGSHIP_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  logship::agent::AgentConfig config;
  try {
    config = logship::agent::LoadAgentConfig(config_path);
  } catch (const logship::ConfigError& e) {
    std::cerr << e.what() << "\n";
    return 2;
  }
  if (check_only) {
    std::cout << config_path << ": configuration OK\n";
    return 0;
  }
  return logship::agent::RunAgent(config, config_path);
}
