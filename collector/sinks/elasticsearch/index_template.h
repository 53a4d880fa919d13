// The index template and the lifecycle policy (ILM on Elasticsearch, ISM on OpenSearch) the
// sink installs on start, so the ECS fields get their types before the first document
// arrives (document_encoder.h). Pure JSON builders for the engine that answers
// (engine_info.h); the sink PUTs them.
//
// Template priority 200: above Elasticsearch's built-in `logs-*-*` template (100), which
// would otherwise turn `logs-logship-…` indices into data streams of its own mapping.
#pragma once

#include <string>

#include "collector/sinks/elasticsearch/elasticsearch_config.h"
#include "collector/sinks/elasticsearch/engine_info.h"

namespace logship::collector::elasticsearch {

// PUT _index_template/<template_name>. With `ilm_attached`, indices name the ILM policy
// (index.lifecycle.name); without, no lifecycle setting (ISM attaches by its own pattern,
// and a cluster without ILM refuses the setting).
std::string IndexTemplateJson(const ElasticsearchConfig& config, const EngineInfo& engine, bool ilm_attached);
// PUT engine.LifecyclePolicyPath(policy_name): rollover (data streams only: a dated index
// does not roll over) and, with retention_days > 0, delete that many days after
// creation/rollover. ILM's shape on Elasticsearch, ISM's (with an ism_template for the
// index pattern) on OpenSearch.
std::string LifecyclePolicyJson(const ElasticsearchConfig& config, const EngineInfo& engine);
std::string IlmPolicyJson(const ElasticsearchConfig& config);
std::string IsmPolicyJson(const ElasticsearchConfig& config);

}  // namespace logship::collector::elasticsearch
