#include "collector/collector_config.h"

#include "common/config/config_node.h"

namespace logship::collector {
namespace {

bool IsIdentifier(const std::string& s) {
  if (s.empty() || s.size() > 48 || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_')) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

SinkDelivery ParseDelivery(ConfigMap& m) {
  SinkDelivery d;
  d.required = m.Bool("required", d.required);
  d.queue_max_bytes = m.Size("queue_max_bytes", d.queue_max_bytes, 1 << 20, 64ull << 30);
  return d;
}

CollectorConfig Parse(const ConfigNode& root) {
  CollectorConfig c;
  ConfigMap m(root);
  c.listen = m.String("listen", c.listen);
  c.data_dir = m.String("data_dir", c.data_dir);
  c.dead_letter_max_bytes = m.Size("dead_letter_max_bytes", c.dead_letter_max_bytes, 1 << 20, 1ull << 40);
  if (c.data_dir.empty() || c.data_dir[0] != '/') m.Require("data_dir").Fail("must be an absolute path");
  if (c.listen.find(':') == std::string::npos) m.Require("listen").Fail("expected host:port");
  if (auto n = m.Optional("tls"); !n.IsNull()) {
    ConfigMap t(n);
    ServerTlsConfig tls;
    tls.cert_file = t.Require("cert_file").AsString();
    tls.key_file = t.Require("key_file").AsString();
    tls.client_ca_file = t.String("client_ca_file", "");
    t.Finish();
    c.tls = tls;
  }
  if (auto n = m.Optional("auth"); !n.IsNull()) {
    ConfigMap a(n);
    for (const auto& item : a.Require("tokens").AsSequence()) {
      ConfigMap t(item);
      AgentToken tok{t.Require("agent").AsString(), t.Require("token_file").AsString()};
      for (const auto& other : c.tokens)
        if (other.agent == tok.agent) t.Require("agent").Fail("agent \"" + tok.agent + "\" has two tokens");
      c.tokens.push_back(tok);
      t.Finish();
    }
    a.Finish();
  }
  if (auto n = m.Optional("limits"); !n.IsNull()) {
    ConfigMap l(n);
    c.limits.max_frame_bytes = l.Size("max_frame_bytes", c.limits.max_frame_bytes, 1024, 1ull << 30);
    c.limits.max_uncompressed_bytes =
        l.Size("max_uncompressed_bytes", c.limits.max_uncompressed_bytes, 1024, 1ull << 31);
    c.limits.max_records = static_cast<uint32_t>(l.Int("max_records", c.limits.max_records, 1, 10000000));
    c.limits.max_attributes = static_cast<uint32_t>(l.Int("max_attributes", c.limits.max_attributes, 1, 100000));
    c.limits.max_attribute_bytes = l.Size("max_attribute_bytes", c.limits.max_attribute_bytes, 64, 64ull << 20);
    c.limits.max_inflight_bytes = l.Size("max_inflight_bytes", c.limits.max_inflight_bytes, 1 << 20, 64ull << 30);
    c.limits.stream_window_bytes = l.Size("stream_window_bytes", c.limits.stream_window_bytes, 64 << 10, 64 << 20);
    c.limits.max_otlp_request_bytes =
        l.Size("max_otlp_request_bytes", c.limits.max_otlp_request_bytes, 1024, 1ull << 30);
    using std::chrono::hours;
    using std::chrono::minutes;
    c.limits.event_time_max_past = l.Duration("event_time_max_past", c.limits.event_time_max_past, minutes(1), hours(24 * 3650));
    c.limits.event_time_max_future =
        l.Duration("event_time_max_future", c.limits.event_time_max_future, minutes(1), hours(24 * 3650));
    l.Finish();
  }
  ConfigMap sinks(m.Require("sinks"));
  if (auto n = sinks.Optional("postgres"); !n.IsNull()) {
    ConfigMap p(n);
    PostgresConfig pg;
    pg.dsn = p.Require("dsn").AsString();
    pg.table = p.String("table", pg.table);
    if (!IsIdentifier(pg.table)) p.Require("table").Fail("must be a lower-case SQL identifier ([a-z_][a-z0-9_]*)");
    pg.connections = static_cast<uint32_t>(p.Int("connections", pg.connections, 1, 64));
    pg.partitions_ahead_days = static_cast<uint32_t>(p.Int("partitions_ahead_days", pg.partitions_ahead_days, 0, 60));
    pg.read_dsn = p.String("read_dsn", "");
    pg.batch_rows = static_cast<uint64_t>(p.Int("batch_rows", static_cast<int64_t>(pg.batch_rows), 1, 10000000));
    pg.batch_linger = std::chrono::duration_cast<std::chrono::milliseconds>(
        p.Duration("batch_linger", pg.batch_linger, std::chrono::milliseconds(0), std::chrono::milliseconds(10000)));
    pg.partitions_by_host = static_cast<uint32_t>(p.Int("partitions_by_host", 0, 0, 256));
    pg.attributes_index = p.Bool("attributes_index", false);
    pg.search_indexes = p.Bool("search_indexes", false);
    pg.retention_days = static_cast<uint32_t>(p.Int("retention_days", 0, 0, 36500));
    pg.archive_dir = p.String("archive_dir", "");
    if (!pg.archive_dir.empty() && pg.archive_dir[0] != '/') p.Require("archive_dir").Fail("must be an absolute path");
    pg.retention_interval = std::chrono::duration_cast<std::chrono::milliseconds>(p.Duration(
        "retention_interval", pg.retention_interval, std::chrono::milliseconds(100), std::chrono::milliseconds(86400000)));
    pg.give_up_after = std::chrono::duration_cast<std::chrono::milliseconds>(p.Duration(
        "give_up_after", pg.give_up_after, std::chrono::milliseconds(100), std::chrono::milliseconds(7 * 86400000LL)));
    c.postgres_delivery = ParseDelivery(p);
    p.Finish();
    c.postgres = pg;
  }
  if (auto n = sinks.Optional("elasticsearch"); !n.IsNull()) {
    ConfigMap e(n);
    c.elasticsearch = elasticsearch::ParseElasticsearchConfig(e);
    c.elasticsearch_delivery = ParseDelivery(e);
    e.Finish();
  }
  if (sinks.Has("blackhole")) {
    auto n = sinks.Optional("blackhole");
    if (!n.IsNull()) {
      ConfigMap b(n);
      c.blackhole_delay = std::chrono::duration_cast<std::chrono::milliseconds>(
          b.Duration("delay", c.blackhole_delay, std::chrono::milliseconds(0), std::chrono::milliseconds(60000)));
      c.blackhole_delivery = ParseDelivery(b);
      b.Finish();
    }
    c.blackhole = true;
  }
  sinks.Finish();
  if (c.postgres) c.postgres->dead_letter_max_bytes = c.dead_letter_max_bytes;
  // Without PostgreSQL, refused records are kept in files under data_dir.
  if (c.elasticsearch && c.elasticsearch->dead_letter_dir.empty()) c.elasticsearch->dead_letter_dir = c.DeadLetterDir();
  if (!c.postgres && !c.elasticsearch && !c.blackhole)
    m.Require("sinks").Fail("configure at least one sink (postgres, elasticsearch or blackhole)");
  if (!(c.postgres && c.postgres_delivery.required) && !(c.elasticsearch && c.elasticsearch_delivery.required) &&
      !(c.blackhole && c.blackhole_delivery.required))
    m.Require("sinks").Fail("at least one sink must be required: true, or batches would be acknowledged before "
                            "anything stored them");
  c.pipeline = Pipeline::FromConfig(m.Optional("pipeline"));
  if (auto n = m.Optional("health"); !n.IsNull()) {
    ConfigMap h(n);
    using std::chrono::milliseconds;
    c.health.check_interval = std::chrono::duration_cast<milliseconds>(
        h.Duration("check_interval", c.health.check_interval, milliseconds(50), milliseconds(600000)));
    c.health.unhealthy_after = std::chrono::duration_cast<milliseconds>(
        h.Duration("unhealthy_after", c.health.unhealthy_after, milliseconds(0), milliseconds(3600000)));
    h.Finish();
  }
  c.http = ParseHttpConfig(m, c.http.listen);
  c.console = console::ParseConsoleConfig(m.Optional("console"));
  if (c.console && !c.postgres) m.Require("console").Fail("the console reads from sinks.postgres, which is not configured");
  if (c.console && c.http.listen.empty()) m.Require("console").Fail("the console is served on http.listen, which is off");
  c.insecure = m.Bool("insecure", false);
  // Secure by default: no unauthenticated listener beyond loopback, no console token in
  // clear text on the network, unless the operator says so in as many words.
  const bool authenticated = !c.tokens.empty() || (c.tls && !c.tls->client_ca_file.empty());
  if (!c.insecure && !IsLoopbackListen(c.listen) && !authenticated)
    m.Require("listen").Fail("listening on " + c.listen + " without authentication would let anyone write as any agent: "
                             "configure auth.tokens (or tls.client_ca_file for mTLS), listen on 127.0.0.1, or set "
                             "insecure: true");
  if (!c.insecure && c.console && !IsLoopbackListen(c.http.listen) && !c.http.tls())
    m.Require("console").Fail("the console would send its token in clear text on " + c.http.listen +
                              ": configure http.tls, listen on 127.0.0.1, or set insecure: true");
  m.Finish();
  return c;
}

}  // namespace

CollectorConfig LoadCollectorConfig(const std::string& path) { return Parse(LoadYamlFile(path)); }

CollectorConfig ParseCollectorConfig(const std::string& yaml_text, const std::string& name) {
  return Parse(LoadYamlString(yaml_text, name));
}

}  // namespace logship::collector
