#include "agent/sources/file/kubernetes_path.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace logship::agent {
namespace {

std::string Get(const Attributes& a, const std::string& key) {
  for (const auto& [k, v] : a)
    if (k == key) return v;
  return "<none>";
}

const std::string kId = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

TEST_CASE("the kubelet's /var/log/containers link names give pod, namespace, container and id") {
  const Attributes a = KubernetesPathAttributes("/var/log/containers/web-7d9f-x2x_shop_nginx-proxy-" + kId + ".log");
  REQUIRE(a.size() == 4);
  CHECK(Get(a, "k8s.pod.name") == "web-7d9f-x2x");
  CHECK(Get(a, "k8s.namespace.name") == "shop");
  CHECK(Get(a, "k8s.container.name") == "nginx-proxy");
  CHECK(Get(a, "container.id") == kId);
}

TEST_CASE("/var/log/pods/<namespace>_<pod>_<uid>/<container>/<n>.log") {
  const Attributes a =
      KubernetesPathAttributes("/var/log/pods/shop_web-7d9f-x2x_5f0c1a2b-0000-4000-8000-000000000001/nginx/3.log");
  REQUIRE(a.size() == 5);
  CHECK(Get(a, "k8s.namespace.name") == "shop");
  CHECK(Get(a, "k8s.pod.name") == "web-7d9f-x2x");
  CHECK(Get(a, "k8s.pod.uid") == "5f0c1a2b-0000-4000-8000-000000000001");
  CHECK(Get(a, "k8s.container.name") == "nginx");
  CHECK(Get(a, "k8s.container.restart_count") == "3");
}

TEST_CASE("other paths carry no Kubernetes metadata") {
  for (const std::string& p : std::vector<std::string>{"/var/log/syslog", "/var/log/containers/app.log",
                              "/var/log/containers/a_b_c-" + kId.substr(1) + ".log",  // id too short
                              "/var/log/containers/a_b_c_d-" + kId + ".log",           // one '_' too many
                              "/var/log/containers/a__c-" + kId + ".log",              // empty namespace
                              "/var/log/other/a_b_c-" + kId + ".log",                  // not containers/
                              "/var/log/pods/a_b_c/nginx/3.log.20261129-101010",       // rotated away
                              "/var/log/pods/a_b/nginx/3.log", "containers/a_b_c-" + kId + ".log", ""})
    CHECK_MESSAGE(KubernetesPathAttributes(p).empty(), p);
}

}  // namespace
}  // namespace logship::agent
