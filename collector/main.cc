// logship-collector: command line entry point. Exit codes: 0 ok, 1 runtime failure,
// 2 bad configuration or usage.
#include <CLI/CLI.hpp>

#include <pthread.h>

#include <csignal>
#include <iostream>
#include <thread>

#include "collector/collector.h"
#include "collector/collector_config.h"
#include "collector/malloc_arenas.h"
#include "collector/cli/healthcheck_probe.h"
#include "common/bearer_token.h"
#include "common/config/config_node.h"
#include "common/lock_order_graph.h"
#include "common/version.h"

// Before anything else: the stop and reload signals are blocked from here on (RunCollector
// takes them with sigwait), so one that arrives while the collector starts is handled, not
// fatal.
[[maybe_unused]] static const bool kSignalsBlocked = [] {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, s);
  return pthread_sigmask(SIG_BLOCK, &set, nullptr) == 0;
}();

int main(int argc, char** argv) {
  logship::DisableLockOrderGraph();
  logship::collector::LimitMallocArenas(std::thread::hardware_concurrency());
  CLI::App app{"logship-collector: receives batches from logship agents and stores them"};
  std::string config_path = "/etc/logship/collector.yaml";
  bool check_only = false;
  app.add_option("-c,--config", config_path, "configuration file")->capture_default_str();
  app.add_flag("--check-config", check_only, "validate the configuration and exit");
  app.set_version_flag("--version", std::string("logship-collector ") + LOGSHIP_VERSION);
  std::string address = "127.0.0.1:4740";
  int timeout_ms = 3000;
  CLI::App* health = app.add_subcommand("healthcheck", "probe a collector's gRPC health service; exit 0 when SERVING");
  health->add_option("--address", address, "collector HOST:PORT")->capture_default_str();
  health->add_option("--timeout-ms", timeout_ms, "give up after this long")->capture_default_str();
  logship::collector::HealthcheckTls tls;
  health->add_option("--ca-file", tls.ca_file, "use TLS, trusting this CA");
  health->add_option("--cert-file", tls.cert_file, "client certificate (mTLS)");
  health->add_option("--key-file", tls.key_file, "client key (mTLS)");
  health->add_option("--server-name", tls.server_name, "expected name in the server certificate");
  std::string service;
  health->add_option("--service", service, "health of this service (e.g. logship.v1.Ingest); default: the server");
  std::string token_out;
  CLI::App* gen = app.add_subcommand("gen-token", "write a new random bearer token to a file unless it exists");
  gen->add_option("--out", token_out, "token file (created mode 0640, kept if it exists); - prints it")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (health->parsed() || gen->parsed()) {
    // Short-lived commands: SIGTERM ends them as usual.
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, s);
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  }
  if (health->parsed()) return logship::collector::RunHealthcheck(address, timeout_ms, tls, service);
  if (gen->parsed()) {
    if (token_out == "-") {
      const std::string token = logship::NewToken();
      if (token.empty()) return 1;
      std::cout << token << "\n";
      return 0;
    }
    const logship::Status s = logship::WriteNewTokenFile(token_out);
    if (!s.ok()) {
      std::cerr << "gen-token: " << s.message() << "\n";
      return 1;
    }
    std::cout << token_out << "\n";
    return 0;
  }

  logship::collector::CollectorConfig config;
  try {
    config = logship::collector::LoadCollectorConfig(config_path);
  } catch (const logship::ConfigError& e) {
    std::cerr << e.what() << "\n";
    return 2;
  }
  if (check_only) {
    std::cout << config_path << ": configuration OK\n";
    return 0;
  }
  return logship::collector::RunCollector(config, config_path);
}
