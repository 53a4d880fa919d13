#include "agent/agent_config.h"

#include <unistd.h>

#include <climits>
#include <set>

#include "common/config/config_node.h"

namespace logship::agent {
namespace {

using std::chrono::milliseconds;
using std::chrono::duration_cast;
constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kGiB = 1ull << 30;

milliseconds Ms(ConfigMap& m, const std::string& key, milliseconds def, milliseconds min, milliseconds max) {
  return duration_cast<milliseconds>(m.Duration(key, def, min, max));
}

// One `sources:` entry: the agent reads `type`, `name` and `attributes`; the plugin the rest.
std::shared_ptr<const SourceConfig> ParseSource(const ConfigNode& node, size_t index) {
  ConfigMap m(node);
  const std::string type = m.Require("type").AsString();
  const SourcePlugin* plugin = FindSourcePlugin(type);
  if (plugin == nullptr)
    m.Require("type").Fail("unknown source type \"" + type + "\" (expected " + SourceTypeList() + ")");
  std::unique_ptr<SourceConfig> config = plugin->parse(m);
  config->type = type;
  config->name = m.String("name", "");
  if (config->name.empty()) config->name = type + "-" + std::to_string(index);
  if (auto n = m.Optional("attributes"); !n.IsNull()) config->attributes = n.AsStringMap();
  m.Finish();
  return config;
}

std::string HostName() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

CollectorClientConfig ParseCollectorClient(const ConfigNode& node) {
  CollectorClientConfig c;
  ConfigMap cc(node);
  c.endpoints = cc.Require("endpoints").AsStringList();
  if (c.endpoints.empty()) cc.Require("endpoints").Fail("needs at least one host:port");
  for (const auto& e : c.endpoints) {
    if (e.find(':') == std::string::npos) cc.Require("endpoints").Fail("expected host:port, got \"" + e + "\"");
  }
  c.token_file = cc.String("token_file", "");
  if (auto n = cc.Optional("tls"); !n.IsNull()) {
    ConfigMap t(n);
    ClientTlsConfig tls;
    tls.ca_file = t.Require("ca_file").AsString();
    tls.cert_file = t.String("cert_file", "");
    tls.key_file = t.String("key_file", "");
    if (tls.cert_file.empty() != tls.key_file.empty())
      t.node().Fail("cert_file and key_file go together (both for mTLS, or neither)");
    tls.server_name = t.String("server_name", "");
    t.Finish();
    c.tls = tls;
  }
  c.max_in_flight = static_cast<uint32_t>(cc.Int("max_in_flight", c.max_in_flight, 1, 1024));
  c.backoff_min = Ms(cc, "backoff_min", c.backoff_min, milliseconds(1), milliseconds(60000));
  c.backoff_max = Ms(cc, "backoff_max", c.backoff_max, c.backoff_min, milliseconds(3600000));
  c.connect_timeout = Ms(cc, "connect_timeout", c.connect_timeout, milliseconds(100), milliseconds(600000));
  cc.Finish();
  return c;
}

AgentConfig Parse(const ConfigNode& root) {
  AgentConfig c;
  ConfigMap m(root);
  c.host = HostName();
  c.agent_id = m.String("agent_id", c.host);
  if (c.agent_id.empty() || c.agent_id.size() > 255) m.Require("agent_id").Fail("must be 1 to 255 characters");
  c.data_dir = m.String("data_dir", c.data_dir);

  size_t index = 0;
  for (const auto& s : m.Require("sources").AsSequence()) c.sources.push_back(ParseSource(s, index++));
  if (c.sources.empty()) m.Require("sources").Fail("needs at least one source");
  {
    // A name labels metrics and keys a source's positions: it must be unique.
    std::set<std::string> names;
    for (const auto& src : c.sources)
      if (!names.insert(src->name).second) m.Require("sources").Fail("two sources are named \"" + src->name + "\"");
  }

  if (auto n = m.Optional("batch"); !n.IsNull()) {
    ConfigMap b(n);
    c.batch.max_records = static_cast<uint32_t>(b.Int("max_records", c.batch.max_records, 1, 1000000));
    c.batch.max_bytes = b.Size("max_bytes", c.batch.max_bytes, 1024, 32 * kMiB);
    c.batch.linger = Ms(b, "linger", c.batch.linger, milliseconds(1), milliseconds(60000));
    b.Finish();
  }
  if (auto n = m.Optional("compression"); !n.IsNull()) {
    ConfigMap z(n);
    c.compression_level = static_cast<int>(z.Int("level", c.compression_level, -7, 19));
    z.Finish();
  }
  c.spool.dir = c.data_dir + "/spool";
  if (auto n = m.Optional("spool"); !n.IsNull()) {
    ConfigMap s(n);
    c.spool.max_bytes = s.Size("max_bytes", c.spool.max_bytes, 256 << 10, 1024 * kGiB);
    c.spool.segment_bytes = s.Size("segment_bytes", c.spool.segment_bytes, 64 << 10, kGiB);
    c.spool.fsync = static_cast<spool::FsyncPolicy>(s.Enum("fsync", {"batch", "interval", "never"}, 0));
    c.fsync_interval = Ms(s, "fsync_interval", c.fsync_interval, milliseconds(10), milliseconds(60000));
    s.Finish();
  }
  c.collector = ParseCollectorClient(m.Require("collector"));
  c.http = ParseHttpConfig(m, c.http.listen);
  m.Finish();
  return c;
}

}  // namespace

AgentConfig LoadAgentConfig(const std::string& path) { return Parse(LoadYamlFile(path)); }

AgentConfig ParseAgentConfig(const std::string& yaml_text, const std::string& name) {
  return Parse(LoadYamlString(yaml_text, name));
}

}  // namespace logship::agent
