#include "common/config/config_node.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/config/units.h"

namespace logship {
namespace {

std::string Where(const std::string& file, const YAML::Mark& m) {
  if (m.is_null()) return file + ":1:1";
  return file + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

std::string ExpandEnv(const std::string& in, const ConfigNode& at) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '$' && i + 1 < in.size() && in[i + 1] == '{') {
      const size_t end = in.find('}', i + 2);
      if (end == std::string::npos) at.Fail("unterminated ${ in \"" + in + "\"");
      const std::string name = in.substr(i + 2, end - i - 2);
      const char* v = std::getenv(name.c_str());
      if (v == nullptr) at.Fail("environment variable " + name + " is not set");
      out.append(v);
      i = end;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

ConfigNode Root(const YAML::Node& root, const std::string& name) {
  auto file = std::make_shared<const std::string>(name);
  ConfigNode node(root, file, "");
  if (node.IsNull())
    node.Fail("configuration is empty: write the settings as YAML (see the commented examples in /etc/logship/ "
              "or conf/)");
  if (!node.IsMap()) node.Fail("configuration must be a mapping of keys to values");
  return node;
}

}  // namespace

void ConfigNode::Fail(const std::string& message) const {
  std::string where = Where(*file_, node_ ? node_.Mark() : YAML::Mark::null_mark());
  throw ConfigError(where + ": " + (path_.empty() ? "" : path_ + ": ") + message);
}

std::string ConfigNode::Scalar() const {
  if (!node_ || !node_.IsScalar()) Fail("expected a single value");
  return ExpandEnv(node_.Scalar(), *this);
}

std::string ConfigNode::AsString() const { return Scalar(); }

bool ConfigNode::AsBool() const {
  const std::string s = Scalar();
  if (s == "true" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "no" || s == "off") return false;
  Fail("expected true or false, got \"" + s + "\"");
}

int64_t ConfigNode::AsInt(int64_t min, int64_t max) const {
  const std::string s = Scalar();
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || errno != 0) Fail("expected a whole number, got \"" + s + "\"");
  if (v < min || v > max)
    Fail("must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " + s);
  return v;
}

uint64_t ConfigNode::AsSize(uint64_t min, uint64_t max) const {
  const std::string s = Scalar();
  auto v = ParseSize(s);
  if (!v) Fail("expected a size such as 512KiB, 16MiB or 1GiB, got \"" + s + "\"");
  if (*v < min || *v > max)
    Fail("must be between " + std::to_string(min) + " and " + std::to_string(max) + " bytes, got " + s);
  return *v;
}

std::chrono::nanoseconds ConfigNode::AsDuration(std::chrono::nanoseconds min, std::chrono::nanoseconds max) const {
  const std::string s = Scalar();
  auto v = ParseDuration(s);
  if (!v) Fail("expected a duration such as 200ms, 1s, 5m or 1h, got \"" + s + "\"");
  if (*v < min || *v > max) Fail("duration out of range: " + s);
  return *v;
}

std::vector<ConfigNode> ConfigNode::AsSequence() const {
  if (!node_.IsSequence()) Fail("expected a list");
  std::vector<ConfigNode> out;
  size_t i = 0;
  for (const auto& item : node_) out.emplace_back(item, file_, path_ + "[" + std::to_string(i++) + "]");
  return out;
}

std::vector<std::string> ConfigNode::AsStringList() const {
  std::vector<std::string> out;
  for (const auto& item : AsSequence()) out.push_back(item.AsString());
  return out;
}

std::vector<std::pair<std::string, std::string>> ConfigNode::AsStringMap() const {
  if (!node_.IsMap()) Fail("expected a mapping of names to values");
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& kv : node_) {
    ConfigNode key(kv.first, file_, path_);
    ConfigNode value(kv.second, file_, path_ + "." + kv.first.Scalar());
    out.emplace_back(key.AsString(), value.AsString());
  }
  return out;
}

ConfigMap::ConfigMap(const ConfigNode& node) : node_(node) {
  if (!node_.IsMap()) node_.Fail("expected a mapping (key: value)");
  // yaml-cpp keeps one of two equal keys silently; a config must not.
  std::set<std::string> seen;
  for (const auto& kv : node_.raw()) {
    if (!seen.insert(kv.first.Scalar()).second)
      ConfigNode(kv.first, node_.file(), node_.path()).Fail("duplicate key \"" + kv.first.Scalar() + "\"");
  }
}

bool ConfigMap::Has(const std::string& key) const { return static_cast<bool>(node_.raw()[key]); }

ConfigNode ConfigMap::Optional(const std::string& key) {
  read_.insert(key);
  const std::string path = node_.path().empty() ? key : node_.path() + "." + key;
  return ConfigNode(node_.raw()[key], node_.file(), path);
}

ConfigNode ConfigMap::Require(const std::string& key) {
  ConfigNode n = Optional(key);
  if (!Has(key)) {
    // A near miss is far more likely a typo than an omission: point at it.
    for (const auto& kv : node_.raw()) {
      const std::string other = kv.first.Scalar();
      if (!read_.count(other) && EditDistance(other, key) <= 2)
        ConfigNode(kv.first, node_.file(), node_.path()).Fail("unknown key \"" + other + "\" (did you mean \"" + key + "\"?)");
    }
    node_.Fail("missing required key \"" + key + "\"");
  }
  if (n.IsNull()) n.Fail("must not be empty");
  return n;
}

std::string ConfigMap::String(const std::string& key, const std::string& def) {
  auto n = Optional(key);
  return n.IsNull() ? def : n.AsString();
}
bool ConfigMap::Bool(const std::string& key, bool def) {
  auto n = Optional(key);
  return n.IsNull() ? def : n.AsBool();
}
int64_t ConfigMap::Int(const std::string& key, int64_t def, int64_t min, int64_t max) {
  auto n = Optional(key);
  return n.IsNull() ? def : n.AsInt(min, max);
}
uint64_t ConfigMap::Size(const std::string& key, uint64_t def, uint64_t min, uint64_t max) {
  auto n = Optional(key);
  return n.IsNull() ? def : n.AsSize(min, max);
}
std::chrono::nanoseconds ConfigMap::Duration(const std::string& key, std::chrono::nanoseconds def,
                                             std::chrono::nanoseconds min, std::chrono::nanoseconds max) {
  auto n = Optional(key);
  return n.IsNull() ? def : n.AsDuration(min, max);
}

size_t ConfigMap::Enum(const std::string& key, const std::vector<std::string>& choices, size_t def) {
  auto n = Optional(key);
  if (n.IsNull()) return def;
  const std::string v = n.AsString();
  std::string all;
  for (size_t i = 0; i < choices.size(); ++i) {
    if (choices[i] == v) return i;
    all += (i ? ", " : "") + choices[i];
  }
  n.Fail("must be one of " + all + ", got \"" + v + "\"");
}

void ConfigMap::Finish() const {
  for (const auto& kv : node_.raw()) {
    const std::string key = kv.first.Scalar();
    if (!read_.count(key)) {
      // Every key this section knows was asked for (read_) before Finish(): name the closest.
      std::string hint, known;
      size_t best = 3;
      for (const auto& k : read_) {
        known += (known.empty() ? "" : ", ") + k;
        if (const size_t d = EditDistance(key, k); d < best) best = d, hint = k;
      }
      const std::string suggestion = !hint.empty()    ? " (did you mean \"" + hint + "\"?)"
                                     : known.empty() ? ""
                                                     : " (known keys: " + known + ")";
      ConfigNode(kv.first, node_.file(), node_.path()).Fail("unknown key \"" + key + "\"" + suggestion);
    }
  }
}

HttpConfig ParseHttpConfig(ConfigMap& parent, const std::string& default_listen) {
  HttpConfig c;
  c.listen = default_listen;
  auto n = parent.Optional("http");
  if (n.IsNull()) return c;
  ConfigMap h(n);
  c.listen = h.String("listen", default_listen);
  if (!c.listen.empty() && c.listen.find(':') == std::string::npos)
    h.Require("listen").Fail("expected host:port, or \"\" to turn the HTTP server off");
  if (auto t = h.Optional("tls"); !t.IsNull()) {
    ConfigMap tls(t);
    c.tls_cert_file = tls.Require("cert_file").AsString();
    c.tls_key_file = tls.Require("key_file").AsString();
    tls.Finish();
  }
  h.Finish();
  return c;
}

bool IsLoopbackListen(const std::string& listen) {
  const std::string host = listen.substr(0, listen.rfind(':'));
  return host == "localhost" || host == "[::1]" || host == "::1" || host.rfind("127.", 0) == 0;
}

ConfigNode LoadYamlString(const std::string& text, const std::string& name) {
  try {
    return Root(YAML::Load(text), name);
  } catch (const YAML::Exception& e) {
    throw ConfigError(Where(name, e.mark) + ": " + e.msg);
  }
}

ConfigNode LoadYamlFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw ConfigError(path + ":1:1: is a directory; --config needs the YAML file itself, not its directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ":1:1: cannot open configuration file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError(path + ":1:1: cannot read configuration file");
  return LoadYamlString(text.str(), path);
}

}  // namespace logship
