// Strict YAML configuration access on top of yaml-cpp. Every error names the place in the
// file ("file:line:col: message") and is thrown as ConfigError; configuration is read once
// at start-up (or reload), so exceptions stay out of data paths and are caught in main.
//
// ConfigMap records which keys were read; Finish() rejects the rest, so a typo never
// passes silently. `${VAR}` in scalar values is replaced from the environment; an unset
// variable is an error.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace logship {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ConfigNode {
 public:
  ConfigNode(YAML::Node node, std::shared_ptr<const std::string> file, std::string path)
      : node_(std::move(node)), file_(std::move(file)), path_(std::move(path)) {}

  // "file:line:col: <path>: message".
  [[noreturn]] void Fail(const std::string& message) const;

  const std::string& path() const { return path_; }
  bool IsMap() const { return node_.IsMap(); }
  bool IsSequence() const { return node_.IsSequence(); }
  bool IsNull() const { return !node_ || node_.IsNull(); }

  std::string AsString() const;
  bool AsBool() const;
  int64_t AsInt(int64_t min, int64_t max) const;
  uint64_t AsSize(uint64_t min, uint64_t max) const;
  std::chrono::nanoseconds AsDuration(std::chrono::nanoseconds min, std::chrono::nanoseconds max) const;
  std::vector<std::string> AsStringList() const;   // a sequence of scalars
  std::vector<ConfigNode> AsSequence() const;
  // Mapping of scalar → scalar, in file order (e.g. per-source attributes).
  std::vector<std::pair<std::string, std::string>> AsStringMap() const;

  const YAML::Node& raw() const { return node_; }
  const std::shared_ptr<const std::string>& file() const { return file_; }

 private:
  std::string Scalar() const;
  YAML::Node node_;
  std::shared_ptr<const std::string> file_;
  std::string path_;
};

// A YAML mapping whose keys are consumed one by one.
class ConfigMap {
 public:
  explicit ConfigMap(const ConfigNode& node);

  bool Has(const std::string& key) const;
  // The value under `key`; Fail()s when absent.
  ConfigNode Require(const std::string& key);
  // The value, or a null node when absent (check IsNull()).
  ConfigNode Optional(const std::string& key);

  std::string String(const std::string& key, const std::string& def);
  bool Bool(const std::string& key, bool def);
  int64_t Int(const std::string& key, int64_t def, int64_t min, int64_t max);
  uint64_t Size(const std::string& key, uint64_t def, uint64_t min, uint64_t max);
  std::chrono::nanoseconds Duration(const std::string& key, std::chrono::nanoseconds def,
                                    std::chrono::nanoseconds min, std::chrono::nanoseconds max);
  // One of `choices`; returns the index.
  size_t Enum(const std::string& key, const std::vector<std::string>& choices, size_t def);

  // Throws for the first key that was never read.
  void Finish() const;
  const ConfigNode& node() const { return node_; }

 private:
  ConfigNode node_;
  std::set<std::string> read_;
};

// The `http:` section both binaries share: {listen: host:port ("" turns the server off),
// tls: {cert_file, key_file}}.
struct HttpConfig {
  std::string listen;
  std::string tls_cert_file;  // both set: HTTPS
  std::string tls_key_file;
  bool tls() const { return !tls_cert_file.empty(); }
};
HttpConfig ParseHttpConfig(ConfigMap& parent, const std::string& default_listen);

// True when "host:port" listens on loopback only (127.0.0.0/8, localhost, [::1]).
bool IsLoopbackListen(const std::string& listen);

// Parses a YAML file; the root must be a mapping. Throws ConfigError.
ConfigNode LoadYamlFile(const std::string& path);
// Same for text already in memory (`name` is used in messages); for tests.
ConfigNode LoadYamlString(const std::string& text, const std::string& name);

}  // namespace logship
