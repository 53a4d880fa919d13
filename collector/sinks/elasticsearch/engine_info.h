// Which engine answers, and what it supports: Elasticsearch and OpenSearch differ in the
// lifecycle API (ILM `_ilm/policy` vs ISM `_plugins/_ism/policies`) and in the field type
// for arbitrary keys (`flattened` vs `flat_object`). Read once, from `GET /`
// (version.distribution, version.number); when that is refused (no `monitor` privilege, or
// a distribution without the root endpoint) from `GET /_nodes/_local`.
//
// The sink never sends `_type` on any engine, so no version needs it.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace logship::collector::elasticsearch {

struct EngineInfo {
  enum class Kind { kElasticsearch, kOpenSearch };
  Kind kind = Kind::kElasticsearch;
  std::string version;  // as reported ("8.19.21"); empty when unknown
  int major = 0;        // 0 when unknown: the newest behaviour is assumed
  int minor = 0;

  bool opensearch() const { return kind == Kind::kOpenSearch; }
  // "opensearch 2.19.6", "elasticsearch 8.19.21", "elasticsearch (version unknown)".
  std::string Describe() const;
  // The mapping type for `labels` (any key, one field): flattened on Elasticsearch >= 7.3,
  // flat_object on OpenSearch >= 2.7, else a plain object.
  std::string_view LabelsType() const;
  // date_nanos exists on Elasticsearch >= 7.0 and on every OpenSearch; else `date`.
  std::string_view NanosDateType() const;
  // PUT path of the lifecycle policy: ILM on Elasticsearch, ISM on OpenSearch.
  std::string LifecyclePolicyPath(const std::string& policy_name) const;
};

// Parses a `GET /` body; an error when it names no version.
Result<EngineInfo> ParseRootInfo(std::string_view body);
// Parses `GET /_nodes/_local?filter_path=nodes.*.version`: the first node's version,
// taken as Elasticsearch (OpenSearch always answers GET /).
Result<EngineInfo> ParseNodesInfo(std::string_view body);

// True when a request-level error says the cluster had no endpoint for the request
// ({"error":"no handler found for uri …"} or "Incorrect HTTP method for uri …"): a URL or
// proxy problem, or an API that is not installed, never a document's fault. Only a string
// `error` counts: document errors are objects, and their reasons may quote log text.
bool IsNoEndpoint(std::string_view body);

}  // namespace logship::collector::elasticsearch
