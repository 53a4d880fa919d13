// The console's JSON API under /api/v1/ (README "Web console" documents it):
//
//   GET /api/v1/agents               agents seen (AgentRegistry) and sink status
//   GET /api/v1/search?...           records, newest first, with next_cursor
//   GET /api/v1/correlation/{id}     records whose trace_id or correlation_id is id, oldest first
//   GET /api/v1/tail?...             server-sent events (TailStream)
//   GET /api/v1/volume?...           counts per step and severity class
//
// Every request needs "Authorization: Bearer <token>" (401 otherwise, before anything is
// read). Errors are JSON {"error": "..."}: 400 bad parameter, 401, 404, 405, 429 too many
// live tails, 503 database unavailable or query timed out.
//
// Thread-safe: Handle() runs on many HTTP connection threads at once.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "collector/console/console_auth.h"
#include "collector/console/console_config.h"
#include "collector/model/log_reader.h"
#include "collector/server/agent_registry.h"
#include "common/http/http_server.h"
#include "common/metrics/registry.h"

namespace logship::collector::console {

// What the API reports about the sinks, read at request time.
struct SinkStatus {
  std::string name;
  uint64_t records_total = 0;
  uint64_t errors_total = 0;
  double lag_seconds_avg = 0;  // end-to-end lag, mean since start
};

struct ConsoleSources {
  const AgentRegistry* agents = nullptr;                 // outlives the API
  std::function<std::vector<SinkStatus>()> sinks;        // thread-safe
  std::function<bool()> healthy;                         // thread-safe
  std::function<std::string()> health_reason;            // thread-safe
};

class ConsoleApi {
 public:
  // `reader` must outlive the API (and its live tails).
  ConsoleApi(const ConsoleConfig& config, ConsoleAuth auth, LogReader& reader, ConsoleSources sources);

  http::Response Handle(const http::Request& request);

 private:
  http::Response Agents() const;
  http::Response Search(const http::Request& request);
  http::Response Correlation(const std::string& id);
  http::Response Volume(const http::Request& request);
  http::Response Tail(const http::Request& request);

  const ConsoleConfig config_;
  const ConsoleAuth auth_;
  LogReader& reader_;
  const ConsoleSources sources_;
  std::atomic<int> tails_{0};  // live tails open now
};

// {"error": message} with `status`.
http::Response JsonError(int status, const std::string& message);

}  // namespace logship::collector::console
