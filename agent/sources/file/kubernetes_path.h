// Kubernetes metadata from the kubelet's log file names (README "Container logs"), as
// OpenTelemetry resource attributes. Pure; thread-safe.
#pragma once

#include <string_view>

#include "agent/sources/source.h"

namespace logship::agent {

// - .../containers/<pod>_<namespace>_<container>-<64 hex container id>.log (the links the
//   kubelet keeps): k8s.pod.name, k8s.namespace.name, k8s.container.name, container.id;
// - .../pods/<namespace>_<pod>_<pod uid>/<container>/<restarts>.log: k8s.namespace.name,
//   k8s.pod.name, k8s.pod.uid, k8s.container.name, k8s.container.restart_count.
// Empty for any other path. Pod, namespace and container names never hold '_' (DNS names).
Attributes KubernetesPathAttributes(std::string_view path);

}  // namespace logship::agent
