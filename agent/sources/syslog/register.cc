// The syslog source plugin (`type: syslog`).
#include <string>

#include "agent/sources/source_plugin.h"
#include "agent/sources/syslog/syslog_config.h"
#include "agent/sources/syslog/syslog_source.h"
#include "agent/sources/syslog/syslog_state.h"
#include "common/metrics/registry.h"

namespace logship::agent::plugins {
namespace {

using syslog::SyslogCounters;
using syslog::SyslogSource;

void Counter(metrics::Registry& r, const std::string& name, const std::string& help, metrics::Labels labels,
             const std::atomic<uint64_t>& value) {
  r.AddCallback(name, help, labels, [&value] { return static_cast<double>(value.load(std::memory_order_relaxed)); });
}

void RegisterMetrics(metrics::Registry& r, const std::string& source, const SyslogCounters& c) {
  const metrics::Labels labels{{"source", source}};
  const auto with = [&](const char* key, const char* value) {
    metrics::Labels l = labels;
    l.emplace_back(key, value);
    return l;
  };
  const std::string received = "logship_agent_syslog_messages_received_total";
  const std::string received_help = "Syslog messages taken in (a message split into parts counts once), by transport.";
  Counter(r, received, received_help, with("protocol", "tcp"), c.received_tcp);
  Counter(r, received, received_help, with("protocol", "tls"), c.received_tls);
  Counter(r, received, received_help, with("protocol", "udp"), c.received_udp);
  Counter(r, "logship_agent_syslog_parse_failures_total",
          "Syslog messages without a valid PRI or header, shipped raw with syslog.parse_error.", labels,
          c.parse_failures);
  Counter(r, "logship_agent_syslog_split_messages_total",
          "Syslog messages longer than max_message_bytes, shipped as flagged parts.", labels, c.split_messages);
  Counter(r, "logship_agent_syslog_framing_errors_total",
          "TCP connections closed because their RFC 6587 framing broke (absurd octet count, frame cut short).",
          labels, c.framing_errors);
  const std::string dropped = "logship_agent_syslog_dropped_total";
  const std::string dropped_help = "Syslog messages not shipped, by reason.";
  Counter(r, dropped, dropped_help, with("reason", "paused"), c.dropped_paused);
  Counter(r, dropped, dropped_help, with("reason", "truncated"), c.dropped_truncated);
  r.AddCallback("logship_agent_syslog_connections_open", "Syslog TCP connections open now.", labels,
                [&c] { return static_cast<double>(c.connections_open.load(std::memory_order_relaxed)); });
  Counter(r, "logship_agent_syslog_connections_accepted_total", "Syslog TCP connections accepted.", labels,
          c.connections_accepted);
  Counter(r, "logship_agent_syslog_connections_refused_total",
          "Syslog TCP connections refused (max_connections reached, or accepting failed).", labels,
          c.connections_refused);
  const std::string closed = "logship_agent_syslog_connections_closed_total";
  const std::string closed_help = "Syslog TCP connections the agent closed, by reason (peers' own closes not counted).";
  Counter(r, closed, closed_help, with("reason", "idle"), c.closed_idle);
  Counter(r, closed, closed_help, with("reason", "tls"), c.closed_tls_error);
  Counter(r, closed, closed_help, with("reason", "error"), c.closed_error);
}

std::unique_ptr<Source> Create(const SourceConfig& config, const SourceContext& context) {
  const auto& sc = static_cast<const SyslogSourceConfig&>(config);
  auto source = std::make_unique<SyslogSource>(sc, context);
  RegisterMetrics(*context.registry, sc.name, source->counters());
  return source;
}

}  // namespace

const SourcePlugin& source_syslog() {
  static const SourcePlugin kPlugin{
      .type = SyslogState::kType,
      .parse = &ParseSyslogSource,
      .create = &Create,
      .new_state = [] { return std::unique_ptr<SourceState>(std::make_unique<SyslogState>()); },
      .upgrade = nullptr,
  };
  return kPlugin;
}

}  // namespace logship::agent::plugins
