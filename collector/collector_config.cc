#include "collector/collector_config.h"

#include <algorithm>

#include "common/config/config_node.h"

namespace logship::collector {
namespace {

std::chrono::milliseconds Millis(ConfigMap& m, const std::string& key, std::chrono::milliseconds def,
                                 std::chrono::milliseconds min, std::chrono::milliseconds max) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(m.Duration(key, def, min, max));
}

SinkDelivery ParseDelivery(ConfigMap& m, const SinkPlugin& plugin) {
  using std::chrono::milliseconds;
  SinkDelivery d;
  d.required = m.Bool("required", d.required);
  d.queue_max_bytes = m.Size("queue_max_bytes", d.queue_max_bytes, 1 << 20, 64ull << 30);
  d.retry_budget = Millis(m, "retry_budget", plugin.default_retry_budget, milliseconds(0), milliseconds(3600000));
  d.retry_min = Millis(m, "retry_min", d.retry_min, milliseconds(1), milliseconds(60000));
  d.retry_max = Millis(m, "retry_max", std::max(d.retry_max, d.retry_min), d.retry_min, milliseconds(600000));
  return d;
}

// `sinks:`: each key is a plugin's type; a section may be empty (`blackhole:`). Kept in the
// file's order, which is the order required sinks are written in (delivery/batch_writer.h).
std::vector<std::shared_ptr<const SinkConfig>> ParseSinks(const ConfigNode& node) {
  ConfigMap sinks(node);
  std::vector<std::shared_ptr<const SinkConfig>> out;
  for (const auto& kv : node.raw()) {
    const std::string type = kv.first.Scalar();
    const SinkPlugin* plugin = FindSinkPlugin(type);
    if (!plugin)
      ConfigNode(kv.first, node.file(), node.path()).Fail("unknown key \"" + type + "\" (a sink: " + SinkTypeList() + ")");
    ConfigNode section = sinks.Optional(type);
    if (section.IsNull()) section = ConfigNode(YAML::Node(YAML::NodeType::Map), section.file(), section.path());
    ConfigMap m(section);
    std::unique_ptr<SinkConfig> config = plugin->parse(m);
    config->type = type;
    config->delivery = ParseDelivery(m, *plugin);
    m.Finish();
    out.push_back(std::move(config));
  }
  if (out.empty()) node.Fail("configure at least one sink (" + SinkTypeList() + ")");
  bool required = false;
  for (const auto& s : out) required |= s->delivery.required;
  if (!required)
    node.Fail("at least one sink must be required: true, or batches would be acknowledged before anything stored them");
  return out;
}

// `inputs:`: each key is an input plugin's type. An input that reads where a sink of the same
// collector writes is refused: every batch would come back.
std::vector<std::shared_ptr<const InputConfig>> ParseInputs(const ConfigNode& node,
                                                            const std::vector<std::shared_ptr<const SinkConfig>>& sinks) {
  ConfigMap inputs(node);
  std::vector<std::shared_ptr<const InputConfig>> out;
  for (const auto& kv : node.raw()) {
    const std::string type = kv.first.Scalar();
    const InputPlugin* plugin = FindInputPlugin(type);
    if (!plugin)
      ConfigNode(kv.first, node.file(), node.path()).Fail("unknown key \"" + type + "\" (an input: " + InputTypeList() + ")");
    ConfigNode section = inputs.Require(type);
    ConfigMap m(section);
    std::unique_ptr<InputConfig> config = plugin->parse(m);
    config->type = type;
    m.Finish();
    for (const auto& s : sinks)
      if (!config->Source().empty() && s->Destination() == config->Source())
        section.Fail("reads the topic sinks." + s->type + " writes to, on the same brokers: every batch written would "
                     "be read back (a loop); use another topic or cluster");
    out.push_back(std::move(config));
  }
  return out;
}

// *frames_set, *writes_set: whether stream_frames_in_flight, stream_writes_in_flight were
// given (else the sinks may raise them).
Limits ParseLimits(ConfigMap& l, bool* frames_set, bool* writes_set) {
  Limits c;
  c.max_frame_bytes = l.Size("max_frame_bytes", c.max_frame_bytes, 1024, 1ull << 30);
  c.max_uncompressed_bytes = l.Size("max_uncompressed_bytes", c.max_uncompressed_bytes, 1024, 1ull << 31);
  c.max_records = static_cast<uint32_t>(l.Int("max_records", c.max_records, 1, 10000000));
  c.max_attributes = static_cast<uint32_t>(l.Int("max_attributes", c.max_attributes, 1, 100000));
  c.max_attribute_bytes = l.Size("max_attribute_bytes", c.max_attribute_bytes, 64, 64ull << 20);
  c.max_inflight_bytes = l.Size("max_inflight_bytes", c.max_inflight_bytes, 1 << 20, 64ull << 30);
  c.stream_window_bytes = l.Size("stream_window_bytes", c.stream_window_bytes, 64 << 10, 64 << 20);
  c.max_otlp_request_bytes = l.Size("max_otlp_request_bytes", c.max_otlp_request_bytes, 1024, 1ull << 30);
  *frames_set = l.Has("stream_frames_in_flight");
  c.stream_frames_in_flight = static_cast<uint32_t>(l.Int("stream_frames_in_flight", c.stream_frames_in_flight, 1, 64));
  // Unset, it follows a smaller stream_frames_in_flight; set, it must fit in it.
  *writes_set = l.Has("stream_writes_in_flight");
  c.stream_writes_in_flight = static_cast<uint32_t>(l.Int("stream_writes_in_flight", c.stream_writes_in_flight, 1, 64));
  if (!*writes_set) c.stream_writes_in_flight = std::min(c.stream_writes_in_flight, c.stream_frames_in_flight);
  if (c.stream_writes_in_flight > c.stream_frames_in_flight)
    l.Require("stream_writes_in_flight")
        .Fail("is " + std::to_string(c.stream_writes_in_flight) + ", more than stream_frames_in_flight (" +
              std::to_string(c.stream_frames_in_flight) + "): a stream never holds that many frames to write");
  using std::chrono::hours;
  using std::chrono::seconds;
  c.keepalive_time = Millis(l, "keepalive_time", c.keepalive_time, seconds(1), hours(24));
  c.keepalive_timeout = Millis(l, "keepalive_timeout", c.keepalive_timeout, seconds(1), hours(1));
  using std::chrono::minutes;
  c.event_time_max_past = l.Duration("event_time_max_past", c.event_time_max_past, minutes(1), hours(24 * 3650));
  c.event_time_max_future = l.Duration("event_time_max_future", c.event_time_max_future, minutes(1), hours(24 * 3650));
  l.Finish();
  return c;
}

std::vector<AgentToken> ParseTokens(const ConfigNode& n) {
  std::vector<AgentToken> tokens;
  ConfigMap a(n);
  for (const auto& item : a.Require("tokens").AsSequence()) {
    ConfigMap t(item);
    AgentToken tok{t.Require("agent").AsString(), t.Require("token_file").AsString()};
    for (const auto& other : tokens)
      if (other.agent == tok.agent) t.Require("agent").Fail("agent \"" + tok.agent + "\" has two tokens");
    tokens.push_back(tok);
    t.Finish();
  }
  a.Finish();
  return tokens;
}

SinkHealthConfig ParseHealth(ConfigMap& h) {
  using std::chrono::milliseconds;
  SinkHealthConfig c;
  c.check_interval = std::chrono::duration_cast<milliseconds>(
      h.Duration("check_interval", c.check_interval, milliseconds(50), milliseconds(600000)));
  c.unhealthy_after = std::chrono::duration_cast<milliseconds>(
      h.Duration("unhealthy_after", c.unhealthy_after, milliseconds(0), milliseconds(3600000)));
  h.Finish();
  return c;
}

// Secure by default: no unauthenticated listener beyond loopback, no console token in clear
// text on the network, unless the operator says so in as many words.
void CheckExposure(const CollectorConfig& c, ConfigMap& m) {
  const bool authenticated = !c.tokens.empty() || (c.tls && !c.tls->client_ca_file.empty());
  if (!c.insecure && !IsLoopbackListen(c.listen) && !authenticated)
    m.Require("listen").Fail("listening on " + c.listen + " without authentication would let anyone write as any agent: "
                             "configure auth.tokens (or tls.client_ca_file for mTLS), listen on 127.0.0.1, or set "
                             "insecure: true");
  if (!c.insecure && c.console && !IsLoopbackListen(c.http.listen) && !c.http.tls())
    m.Require("console").Fail("the console would send its token in clear text on " + c.http.listen +
                              ": configure http.tls, listen on 127.0.0.1, or set insecure: true");
}

void CheckConsole(const CollectorConfig& c, ConfigMap& m) {
  if (!c.console) return;
  bool readable = false;
  for (const auto& s : c.sinks) readable |= FindSinkPlugin(s->type)->readable;
  if (!readable) m.Require("console").Fail("the console reads from sinks.postgres, which is not configured");
  if (c.http.listen.empty()) m.Require("console").Fail("the console is served on http.listen, which is off");
}

CollectorConfig Parse(const ConfigNode& root) {
  CollectorConfig c;
  ConfigMap m(root);
  c.listen = m.String("listen", c.listen);
  c.data_dir = m.String("data_dir", c.data_dir);
  c.dead_letter_max_bytes = m.Size("dead_letter_max_bytes", c.dead_letter_max_bytes, 1 << 20, 1ull << 40);
  c.ingest_workers = static_cast<uint32_t>(m.Int("ingest_workers", 0, 0, 256));
  if (c.data_dir.empty() || c.data_dir[0] != '/') m.Require("data_dir").Fail("must be an absolute path");
  if (c.listen.find(':') == std::string::npos) m.Require("listen").Fail("expected host:port");
  if (auto n = m.Optional("tls"); !n.IsNull()) c.tls = ParseServerTlsFiles(n);
  if (auto n = m.Optional("auth"); !n.IsNull()) c.tokens = ParseTokens(n);
  bool frames_set = false, writes_set = false;
  if (auto n = m.Optional("limits"); !n.IsNull()) {
    ConfigMap l(n);
    c.limits = ParseLimits(l, &frames_set, &writes_set);
  }
  c.sinks = ParseSinks(m.Require("sinks"));
  uint32_t wanted = 0;  // what the sinks ask for, where the operator set nothing
  for (const auto& s : c.sinks) wanted = std::max(wanted, s->WritesInFlight());
  auto& frames = c.limits.stream_frames_in_flight;
  if (!frames_set) frames = std::max(frames, wanted);
  if (!writes_set) c.limits.stream_writes_in_flight = std::max(c.limits.stream_writes_in_flight, std::min(wanted, frames));
  c.pipeline = Pipeline::FromConfig(m.Optional("pipeline"));
  if (auto n = m.Optional("inputs"); !n.IsNull()) c.inputs = ParseInputs(n, c.sinks);
  if (auto n = m.Optional("health"); !n.IsNull()) {
    ConfigMap h(n);
    c.health = ParseHealth(h);
  }
  c.http = ParseHttpConfig(m, c.http.listen);
  c.console = console::ParseConsoleConfig(m.Optional("console"));
  CheckConsole(c, m);
  c.insecure = m.Bool("insecure", false);
  CheckExposure(c, m);
  m.Finish();
  return c;
}

}  // namespace

CollectorConfig LoadCollectorConfig(const std::string& path) { return Parse(LoadYamlFile(path)); }

CollectorConfig ParseCollectorConfig(const std::string& yaml_text, const std::string& name) {
  return Parse(LoadYamlString(yaml_text, name));
}

}  // namespace logship::collector
