// A sink plugin: one folder under collector/sinks/<type>/ holding its configuration, its
// implementation (with its health check and retry classifier) and one register.cc that
// defines its SinkPlugin. The collector knows sinks only through this struct; the list of
// built-in plugins is the one line in collector/sinks/CMakeLists.txt.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "collector/sinks/sink.h"
#include "common/config/config_node.h"
#include "common/status.h"

namespace logship::metrics {
class Registry;
}

namespace logship::collector {

// How a sink takes part in acks (fan-out rule, delivery/batch_writer.h): a required sink must
// commit a batch before it is acked; an optional one is fed from a bounded queue.
struct SinkDelivery {
  bool required = true;
  uint64_t queue_max_bytes = 64ull << 20;  // optional sinks: batches waiting beyond this are dropped (counted)
  // A required sink's failed write (kRetry) is tried again by the collector, with capped and
  // jittered backoff, for up to retry_budget before the batch goes back to its agent (which
  // re-sends its whole window). 0: at once.
  std::chrono::milliseconds retry_budget{0};
  std::chrono::milliseconds retry_min{100}, retry_max{5000};
};

// What every sink is configured with; a plugin derives its own settings from it.
struct SinkConfig {
  virtual ~SinkConfig() = default;
  std::string type;       // the key under `sinks:`
  SinkDelivery delivery;  // `required`, `queue_max_bytes`
  // Names where the sink writes, for the collector's loop check against what it reads
  // (`inputs:`); "" when nothing reads from there.
  virtual std::string Destination() const { return {}; }
  // Frames of one agent stream this sink wants written at once where the operator did not
  // set limits.stream_writes_in_flight (0: the collector's default), and held at once where
  // stream_frames_in_flight is not set. A client that holds writes for a batching timer needs
  // more of them.
  virtual uint32_t WritesInFlight() const { return 0; }
};

// What a sink gets from the collector. Everything outlives the sink.
struct SinkContext {
  metrics::Registry* registry = nullptr;
  std::string data_dir;                   // the collector's own files (collector.yaml data_dir)
  uint64_t dead_letter_max_bytes = 1ull << 30;  // each dead-letter store keeps at most this
};

struct SinkPlugin {
  std::string_view type;  // its key under `sinks:` in collector.yaml
  // Reads the plugin's keys (`required` and `queue_max_bytes` are the collector's) into a
  // config of the plugin's class. Throws ConfigError.
  std::unique_ptr<SinkConfig> (*parse)(ConfigMap& section) = nullptr;
  // REQUIRES: `config` came from parse. Errors say what is wrong (a file that cannot be read).
  Result<std::unique_ptr<Sink>> (*create)(const SinkConfig& config, const SinkContext& context) = nullptr;
  bool readable = false;  // its sinks return a LogReader (what the console needs)
  std::chrono::milliseconds default_retry_budget{0};  // SinkDelivery::retry_budget when not configured
};

// The built-in plugins, in registration order (the order required sinks are written in).
const std::vector<const SinkPlugin*>& SinkPlugins();
const SinkPlugin* FindSinkPlugin(std::string_view type);
// "postgres, elasticsearch or blackhole": for error messages.
std::string SinkTypeList();

}  // namespace logship::collector
