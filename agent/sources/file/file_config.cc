#include "agent/sources/file/file_config.h"

namespace logship::agent {
namespace {

using std::chrono::milliseconds;
constexpr uint64_t kMiB = 1ull << 20;

milliseconds Ms(ConfigMap& m, const std::string& key, milliseconds def, milliseconds min, milliseconds max) {
  return std::chrono::duration_cast<milliseconds>(m.Duration(key, def, min, max));
}

MultilineOptions ParseMultiline(const ConfigNode& n) {
  ConfigMap ml(n);
  MultilineOptions o;
  auto pattern_node = ml.Require("start_pattern");
  const std::string pattern = pattern_node.AsString();
  auto re = std::make_shared<RE2>(pattern, RE2::Quiet);
  if (!re->ok()) pattern_node.Fail("invalid regular expression: " + re->error());
  o.start_pattern = std::move(re);
  o.max_lines = static_cast<uint32_t>(ml.Int("max_lines", o.max_lines, 1, 100000));
  o.max_bytes = ml.Size("max_bytes", o.max_bytes, 256, 16 * kMiB);
  o.timeout_ns =
      ml.Duration("timeout", std::chrono::nanoseconds(o.timeout_ns), milliseconds(10), milliseconds(600000)).count();
  ml.Finish();
  return o;
}

}  // namespace

std::unique_ptr<SourceConfig> ParseFileSource(ConfigMap& m) {
  auto f = std::make_unique<FileSourceConfig>();
  f->include = m.Require("include").AsStringList();
  if (f->include.empty()) m.Require("include").Fail("needs at least one glob pattern");
  for (const auto& p : f->include) {
    if (p.empty() || p[0] != '/') m.Require("include").Fail("patterns must be absolute paths, got \"" + p + "\"");
  }
  if (auto n = m.Optional("exclude"); !n.IsNull()) f->exclude = n.AsStringList();
  f->start_at_beginning = m.Enum("start_at", {"end", "beginning"}, 0) == 1;
  // At most 16 MiB: one record must always fit a spool frame and a collector frame.
  f->max_line_bytes = m.Size("max_line_bytes", f->max_line_bytes, 256, 16 * kMiB);
  f->fingerprint_bytes = m.Size("fingerprint_bytes", f->fingerprint_bytes, 16, 64 << 10);
  f->poll_interval = Ms(m, "poll_interval", f->poll_interval, milliseconds(50), milliseconds(60000));
  f->rotate_wait = Ms(m, "rotate_wait", f->rotate_wait, milliseconds(0), milliseconds(3600000));
  f->follow_symlinks = m.Bool("follow_symlinks", false);
  if (auto n = m.Optional("multiline"); !n.IsNull()) f->multiline = ParseMultiline(n);
  static constexpr ContainerFormat kFormats[] = {ContainerFormat::kPlain, ContainerFormat::kCri,
                                                 ContainerFormat::kDocker, ContainerFormat::kAuto};
  f->format = kFormats[m.Enum("format", {"plain", "cri", "docker", "auto"}, 0)];
  return f;
}

}  // namespace logship::agent
