// Turns decoded batches into Elasticsearch _bulk items: one `create` action line and one
// ECS document line per record, with _id = the record id (the same UUID as PostgreSQL's
// id column), so a re-sent record meets 409 instead of being stored twice.
//
// Document (ECS 8.11 names; README "Elasticsearch" documents the mapping):
//   @timestamp      event time, else observed time (RFC 3339, nanoseconds, UTC)
//   event.created   observed time (when the agent read it)
//   message         the line; invalid UTF-8 / NUL written as \xNN, labels."logship.escaped"
//   log.level       severity text (trace, debug, info, warn, error, fatal); event.severity the number
//   host.name, agent.id, agent.type ("logship"), ecs.version
//   log.file.path   the source, when it is a path; else the source goes to log.logger
//   service.name    attribute "service.name" or "service"
//   trace.id        attribute "trace_id"; transaction.id: attribute "correlation_id"
//   labels          every source and record attribute, as key -> string (mapped flattened)
// Pure; thread-compatible.
#pragma once

#include <string>
#include <vector>

#include "collector/sinks/elasticsearch/elasticsearch_config.h"
#include "collector/sinks/sink.h"

namespace logship::collector::elasticsearch {

inline constexpr const char* kEcsVersion = "8.11.0";

struct BulkItem {
  std::string id;     // UUID text, the _id
  std::string lines;  // action line + document line, each ending in '\n'
};

// One item per record of the batch, in record order.
std::vector<BulkItem> EncodeBulkItems(const DecodedBatch& batch, const ElasticsearchConfig& config);

// The target of a record: the data stream, or `index` with its strftime fields filled in
// from `unix_nanos` (UTC).
std::string IndexFor(const ElasticsearchConfig& config, int64_t unix_nanos);

// "trace" … "fatal" for OpenTelemetry severity numbers 1–24; "" for 0 (unknown).
std::string_view SeverityText(int severity);

}  // namespace logship::collector::elasticsearch
