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

FileSourceConfig ParseFileSource(ConfigMap& m) {
  FileSourceConfig f;
  f.name = m.String("name", "");
  f.include = m.Require("include").AsStringList();
  if (f.include.empty()) m.Require("include").Fail("needs at least one glob pattern");
  for (const auto& p : f.include) {
    if (p.empty() || p[0] != '/') m.Require("include").Fail("patterns must be absolute paths, got \"" + p + "\"");
  }
  if (auto n = m.Optional("exclude"); !n.IsNull()) f.exclude = n.AsStringList();
  f.start_at_beginning = m.Enum("start_at", {"end", "beginning"}, 0) == 1;
  // At most 16 MiB: one record must always fit a spool frame and a collector frame.
  f.max_line_bytes = m.Size("max_line_bytes", f.max_line_bytes, 256, 16 * kMiB);
  f.fingerprint_bytes = m.Size("fingerprint_bytes", f.fingerprint_bytes, 16, 64 << 10);
  f.poll_interval = Ms(m, "poll_interval", f.poll_interval, milliseconds(50), milliseconds(60000));
  f.rotate_wait = Ms(m, "rotate_wait", f.rotate_wait, milliseconds(0), milliseconds(3600000));
  f.follow_symlinks = m.Bool("follow_symlinks", false);
  if (auto n = m.Optional("multiline"); !n.IsNull()) {
    ConfigMap ml(n);
    MultilineOptions o;
    auto pattern_node = ml.Require("start_pattern");
    const std::string pattern = pattern_node.AsString();
    auto re = std::make_shared<RE2>(pattern, RE2::Quiet);
    if (!re->ok()) pattern_node.Fail("invalid regular expression: " + re->error());
    o.start_pattern = std::move(re);
    o.max_lines = static_cast<uint32_t>(ml.Int("max_lines", o.max_lines, 1, 100000));
    o.max_bytes = ml.Size("max_bytes", o.max_bytes, 256, 16 * kMiB);
    o.timeout_ns = ml.Duration("timeout", std::chrono::nanoseconds(o.timeout_ns), milliseconds(10),
                               milliseconds(600000)).count();
    ml.Finish();
    f.multiline = o;
  }
  if (auto n = m.Optional("attributes"); !n.IsNull()) f.attributes = n.AsStringMap();
  m.Finish();
  return f;
}

JournaldSourceConfig ParseJournaldSource(ConfigMap& m) {
  JournaldSourceConfig j;
  j.name = m.String("name", "");
  j.directory = m.String("directory", "");
  if (!j.directory.empty() && j.directory[0] != '/') m.Require("directory").Fail("must be an absolute path");
  if (auto n = m.Optional("units"); !n.IsNull()) j.units = n.AsStringList();
  if (auto n = m.Optional("priorities"); !n.IsNull()) {
    static const std::vector<std::string> kNames = {"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"};
    for (const auto& item : n.AsSequence()) {
      const std::string v = item.AsString();
      int p = -1;
      for (size_t i = 0; i < kNames.size(); ++i)
        if (v == kNames[i] || v == std::to_string(i)) p = static_cast<int>(i);
      if (p < 0) item.Fail("priority must be 0..7 or one of emerg, alert, crit, err, warning, notice, info, debug");
      j.priorities.push_back(p);
    }
  }
  j.start_at_beginning = m.Enum("start_at", {"end", "beginning"}, 0) == 1;
  j.max_line_bytes = m.Size("max_line_bytes", j.max_line_bytes, 256, 16 * kMiB);
  j.poll_interval = Ms(m, "poll_interval", j.poll_interval, milliseconds(50), milliseconds(60000));
  if (auto n = m.Optional("attributes"); !n.IsNull()) j.attributes = n.AsStringMap();
  m.Finish();
  return j;
}

std::string HostName() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

AgentConfig Parse(const ConfigNode& root) {
  AgentConfig c;
  ConfigMap m(root);
  c.host = HostName();
  c.agent_id = m.String("agent_id", c.host);
  if (c.agent_id.empty() || c.agent_id.size() > 255) m.Require("agent_id").Fail("must be 1 to 255 characters");
  c.data_dir = m.String("data_dir", c.data_dir);

  size_t index = 0;
  for (const auto& s : m.Require("sources").AsSequence()) {
    ConfigMap sm(s);
    const std::string type = sm.Require("type").AsString();
    const std::string default_name = type + "-" + std::to_string(index++);
    if (type == "file") {
      c.file_sources.push_back(ParseFileSource(sm));
      if (c.file_sources.back().name.empty()) c.file_sources.back().name = default_name;
      c.file_sources.back().key = "file:" + c.file_sources.back().name;
    } else if (type == "journald") {
      c.journald_sources.push_back(ParseJournaldSource(sm));
      if (c.journald_sources.back().name.empty()) c.journald_sources.back().name = default_name;
    } else {
      sm.Require("type").Fail("unknown source type \"" + type + "\" (expected file or journald)");
    }
  }
  if (c.file_sources.empty() && c.journald_sources.empty()) m.Require("sources").Fail("needs at least one source");
  {
    // A name labels metrics and keys a file source's positions: it must be unique.
    std::set<std::string> names;
    for (const auto& f : c.file_sources)
      if (!names.insert(f.name).second) m.Require("sources").Fail("two sources are named \"" + f.name + "\"");
    for (const auto& j : c.journald_sources)
      if (!names.insert(j.name).second) m.Require("sources").Fail("two sources are named \"" + j.name + "\"");
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
  {
    ConfigMap cc(m.Require("collector"));
    c.collector.endpoints = cc.Require("endpoints").AsStringList();
    if (c.collector.endpoints.empty()) cc.Require("endpoints").Fail("needs at least one host:port");
    for (const auto& e : c.collector.endpoints) {
      if (e.find(':') == std::string::npos) cc.Require("endpoints").Fail("expected host:port, got \"" + e + "\"");
    }
    c.collector.token_file = cc.String("token_file", "");
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
      c.collector.tls = tls;
    }
    c.collector.max_in_flight = static_cast<uint32_t>(cc.Int("max_in_flight", c.collector.max_in_flight, 1, 1024));
    c.collector.backoff_min = Ms(cc, "backoff_min", c.collector.backoff_min, milliseconds(1), milliseconds(60000));
    c.collector.backoff_max = Ms(cc, "backoff_max", c.collector.backoff_max, c.collector.backoff_min, milliseconds(3600000));
    cc.Finish();
  }
  c.http = ParseHttpConfig(m, c.http.listen);
  m.Finish();
  return c;
}

}  // namespace

std::string JournaldSourceConfig::Key() const {
  std::string k = "journald:" + (directory.empty() ? std::string("system") : directory) + "|units=";
  for (const auto& u : units) k += u + ",";
  k += "|priorities=";
  for (int p : priorities) k += std::to_string(p) + ",";
  return k;
}

AgentConfig LoadAgentConfig(const std::string& path) { return Parse(LoadYamlFile(path)); }

AgentConfig ParseAgentConfig(const std::string& yaml_text, const std::string& name) {
  return Parse(LoadYamlString(yaml_text, name));
}

}  // namespace logship::agent
