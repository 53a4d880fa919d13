#include "collector/sinks/elasticsearch/elasticsearch_config.h"

#include "common/config/config_node.h"

namespace logship::collector::elasticsearch {
namespace {

using std::chrono::milliseconds;

milliseconds Millis(ConfigMap& m, const std::string& key, milliseconds def, milliseconds min, milliseconds max) {
  return std::chrono::duration_cast<milliseconds>(m.Duration(key, def, min, max));
}

// Elasticsearch index names: lower case, no spaces or \/*?"<>|,#:, not starting with -_+.
bool ValidIndexName(const std::string& s) {
  if (s.empty() || s.size() > 200 || s[0] == '-' || s[0] == '_' || s[0] == '+') return false;
  for (char c : s) {
    if (c >= 'A' && c <= 'Z') return false;
    if (std::string_view(" \\/*?\"<>|,#:").find(c) != std::string_view::npos) return false;
  }
  return true;
}

bool ValidUrl(const std::string& u) {
  return (u.rfind("http://", 0) == 0 && u.size() > 7) || (u.rfind("https://", 0) == 0 && u.size() > 8);
}

}  // namespace

ElasticsearchConfig ParseElasticsearchConfig(ConfigMap& m) {
  ElasticsearchConfig c;
  c.urls = m.Require("urls").AsStringList();
  if (c.urls.empty()) m.Require("urls").Fail("list at least one URL, e.g. [\"http://127.0.0.1:9200\"]");
  for (auto& u : c.urls) {
    if (!ValidUrl(u)) m.Require("urls").Fail("\"" + u + "\" is not an http:// or https:// URL");
    const size_t authority = u.find("://") + 3;
    if (u.find('@', authority) < u.find('/', authority))
      m.Require("urls").Fail("credentials in a URL would end up in logs: use username + password_file or api_key_file");
    while (u.size() > 1 && u.back() == '/') u.pop_back();
  }
  if (m.Has("index") && m.Has("data_stream"))
    m.Require("data_stream").Fail("set either index or data_stream, not both");
  c.index = m.String("index", c.index);
  c.data_stream = m.String("data_stream", "");
  if (!c.data_stream.empty()) {
    c.index.clear();
    if (!ValidIndexName(c.data_stream))
      m.Require("data_stream").Fail("not a valid data stream name (lower case; none of \\/*?\"<>|,#: or spaces)");
  } else {
    // The template matches <prefix>*: without a fixed prefix it would match every index.
    if (c.index.empty() || c.index[0] == '%')
      m.Require("index").Fail("must start with a fixed name, e.g. logs-logship-%Y.%m.%d (the index template "
                              "matches that prefix)");
    // The name with its strftime fields filled in must be a valid index name.
    std::string probe;
    for (size_t i = 0; i < c.index.size(); ++i) {
      if (c.index[i] == '%' && i + 1 < c.index.size()) {
        if (std::string_view("YmdHjGVuU%").find(c.index[i + 1]) == std::string_view::npos)
          m.Require("index").Fail(std::string("unsupported field %") + c.index[i + 1] +
                                  " (use %Y %m %d %H %j %G %V %u %U)");
        probe += c.index[i + 1] == '%' ? "" : "1";
        ++i;
      } else {
        probe += c.index[i];
      }
    }
    if (!ValidIndexName(probe))
      m.Require("index").Fail("not a valid index name (lower case; none of \\/*?\"<>|,#: or spaces)");
  }
  c.username = m.String("username", "");
  c.password_file = m.String("password_file", "");
  c.api_key_file = m.String("api_key_file", "");
  if (!c.username.empty() && c.password_file.empty())
    m.Require("username").Fail("username needs password_file");
  if (c.username.empty() && !c.password_file.empty())
    m.Require("password_file").Fail("password_file needs username");
  if (!c.api_key_file.empty() && !c.username.empty())
    m.Require("api_key_file").Fail("use either api_key_file or username/password_file, not both");
  c.ca_file = m.String("ca_file", "");
  c.tls_verify = m.Bool("tls_verify", true);
  c.bulk_max_bytes = m.Size("bulk_max_bytes", c.bulk_max_bytes, 4 << 10, 100ull << 20);
  c.concurrency = static_cast<uint32_t>(m.Int("concurrency", c.concurrency, 1, 64));
  c.gzip = m.Bool("gzip", c.gzip);
  c.gzip_level = static_cast<int>(m.Int("gzip_level", c.gzip_level, 1, 9));
  c.timeout = Millis(m, "timeout", c.timeout, milliseconds(100), milliseconds(600000));
  c.give_up_after = Millis(m, "give_up_after", c.give_up_after, milliseconds(100), milliseconds(7 * 86400000LL));
  c.manage_template = m.Bool("manage_template", c.manage_template);
  c.template_name = m.String("template_name", c.template_name);
  if (!ValidIndexName(c.template_name)) m.Require("template_name").Fail("not a valid template name");
  c.template_priority = static_cast<uint32_t>(
      m.Int("template_priority", c.data_stream.empty() ? 200 : 210, 101, 1000000));
  c.policy_name = m.String("policy_name", c.policy_name);
  if (!ValidIndexName(c.policy_name)) m.Require("policy_name").Fail("not a valid policy name");
  c.retention_days = static_cast<uint32_t>(m.Int("retention_days", c.retention_days, 0, 36500));
  c.rollover_max_age = m.String("rollover_max_age", c.rollover_max_age);
  c.rollover_max_primary_shard_size = m.String("rollover_max_primary_shard_size", c.rollover_max_primary_shard_size);
  c.dead_letter_dir = m.String("dead_letter_dir", "");
  if (!c.dead_letter_dir.empty() && c.dead_letter_dir[0] != '/')
    m.Require("dead_letter_dir").Fail("must be an absolute path");
  return c;
}

std::string IndexPattern(const ElasticsearchConfig& config) {
  if (!config.data_stream.empty()) return config.data_stream;
  std::string out;
  for (size_t i = 0; i < config.index.size(); ++i) {
    if (config.index[i] == '%' && i + 1 < config.index.size()) {
      if (config.index[i + 1] == '%') {
        out += '%';
      } else if (out.empty() || out.back() != '*') {
        out += '*';
      }
      ++i;
    } else {
      out += config.index[i];
    }
  }
  // "logs-%Y.%m.%d" -> "logs-*.*.*" is valid but odd; collapse anything after the first '*'.
  const size_t star = out.find('*');
  if (star != std::string::npos) out = out.substr(0, star + 1);
  return out;
}

}  // namespace logship::collector::elasticsearch
