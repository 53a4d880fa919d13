#include "agent/sources/file/kubernetes_path.h"

#include <algorithm>
#include <array>

namespace logship::agent {
namespace {

// The last `n` components of `path`, last one first; false when it has fewer.
template <size_t N>
bool LastComponents(std::string_view path, std::array<std::string_view, N>* out) {
  for (size_t i = 0; i < N; ++i) {
    const size_t slash = path.rfind('/');
    if (slash == std::string_view::npos) return false;
    (*out)[i] = path.substr(slash + 1);
    path = path.substr(0, slash);
    if ((*out)[i].empty()) return false;
  }
  return true;
}

// "a_b_c" → {a, b, c}; false unless exactly three non-empty fields.
bool SplitThree(std::string_view s, std::array<std::string_view, 3>* out) {
  const size_t a = s.find('_');
  if (a == std::string_view::npos) return false;
  const size_t b = s.find('_', a + 1);
  if (b == std::string_view::npos || s.find('_', b + 1) != std::string_view::npos) return false;
  *out = {s.substr(0, a), s.substr(a + 1, b - a - 1), s.substr(b + 1)};
  return !(*out)[0].empty() && !(*out)[1].empty() && !(*out)[2].empty();
}

bool StripSuffix(std::string_view* s, std::string_view suffix) {
  if (s->size() <= suffix.size() || s->substr(s->size() - suffix.size()) != suffix) return false;
  s->remove_suffix(suffix.size());
  return true;
}

bool AllOf(std::string_view s, bool (*pred)(char)) { return !s.empty() && std::all_of(s.begin(), s.end(), pred); }
bool IsHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

Attributes FromContainersLink(std::string_view name) {
  std::array<std::string_view, 3> f;
  if (!StripSuffix(&name, ".log") || !SplitThree(name, &f)) return {};
  const size_t dash = f[2].rfind('-');
  if (dash == std::string_view::npos || dash == 0) return {};
  const std::string_view id = f[2].substr(dash + 1);
  if (id.size() != 64 || !AllOf(id, IsHex)) return {};
  return {{"k8s.pod.name", std::string(f[0])},
          {"k8s.namespace.name", std::string(f[1])},
          {"k8s.container.name", std::string(f[2].substr(0, dash))},
          {"container.id", std::string(id)}};
}

Attributes FromPodsDirectory(std::string_view pod_dir, std::string_view container, std::string_view name) {
  std::array<std::string_view, 3> f;
  if (!StripSuffix(&name, ".log") || !AllOf(name, IsDigit) || !SplitThree(pod_dir, &f)) return {};
  return {{"k8s.namespace.name", std::string(f[0])},
          {"k8s.pod.name", std::string(f[1])},
          {"k8s.pod.uid", std::string(f[2])},
          {"k8s.container.name", std::string(container)},
          {"k8s.container.restart_count", std::string(name)}};
}

}  // namespace

Attributes KubernetesPathAttributes(std::string_view path) {
  std::array<std::string_view, 4> c;  // file, its directory, and two above
  if (LastComponents(path, &c) && c[3] == "pods") return FromPodsDirectory(c[2], c[1], c[0]);
  std::array<std::string_view, 2> l;
  if (LastComponents(path, &l) && l[1] == "containers") return FromContainersLink(l[0]);
  return {};
}

}  // namespace logship::agent
