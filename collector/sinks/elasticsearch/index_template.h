// The index template and the lifecycle (ILM) policy the sink installs on start, so the
// ECS fields get their types before the first document arrives (document_encoder.h).
// Pure JSON builders; the sink PUTs them.
//
// Template priority 200: above Elasticsearch's built-in `logs-*-*` template (100), which
// would otherwise turn `logs-logship-…` indices into data streams of its own mapping.
#pragma once

#include <string>

#include "collector/sinks/elasticsearch/elasticsearch_config.h"

namespace logship::collector::elasticsearch {

// PUT _index_template/<template_name>
std::string IndexTemplateJson(const ElasticsearchConfig& config);
// PUT _ilm/policy/<policy_name>: rollover (data streams only: a dated index does not
// roll over) and, with retention_days > 0, delete that many days after creation/rollover.
std::string LifecyclePolicyJson(const ElasticsearchConfig& config);

}  // namespace logship::collector::elasticsearch
