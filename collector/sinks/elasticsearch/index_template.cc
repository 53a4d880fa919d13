#include "collector/sinks/elasticsearch/index_template.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "collector/sinks/elasticsearch/document_encoder.h"

namespace logship::collector::elasticsearch {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void Typed(JsonWriter& w, const char* field, const char* type) {
  w.Key(field);
  w.StartObject();
  w.Key("type");
  w.String(type);
  w.EndObject();
}

// "name": {"properties": { "<field>": {"type": "<type>"}, … }}
void Object(JsonWriter& w, const char* name, std::initializer_list<std::pair<const char*, const char*>> fields) {
  w.Key(name);
  w.StartObject();
  w.Key("properties");
  w.StartObject();
  for (const auto& [field, type] : fields) Typed(w, field, type);
  w.EndObject();
  w.EndObject();
}

}  // namespace

std::string IndexTemplateJson(const ElasticsearchConfig& config, const EngineInfo& engine, bool ilm_attached) {
  const std::string nanos(engine.NanosDateType()), labels(engine.LabelsType());
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("index_patterns");
  w.StartArray();
  w.String(IndexPattern(config).c_str());
  w.EndArray();
  w.Key("priority");
  w.Uint(config.template_priority);
  if (!config.data_stream.empty()) {
    w.Key("data_stream");
    w.StartObject();
    w.EndObject();
  }
  w.Key("template");
  w.StartObject();
  if (ilm_attached) {  // ISM attaches through the policy's ism_template instead
    w.Key("settings");
    w.StartObject();
    w.Key("index.lifecycle.name");
    w.String(config.policy_name.c_str());
    w.EndObject();
  }
  w.Key("mappings");
  w.StartObject();
  w.Key("properties");
  w.StartObject();
  Typed(w, "@timestamp", nanos.c_str());
  Typed(w, "message", "text");
  Object(w, "event", {{"created", nanos.c_str()}, {"severity", "long"}});
  w.Key("log");
  w.StartObject();
  w.Key("properties");
  w.StartObject();
  Typed(w, "level", "keyword");
  Typed(w, "logger", "keyword");
  Object(w, "file", {{"path", "keyword"}});
  w.EndObject();
  w.EndObject();
  Object(w, "host", {{"name", "keyword"}});
  Object(w, "agent", {{"id", "keyword"}, {"type", "keyword"}});
  Object(w, "service", {{"name", "keyword"}});
  Object(w, "trace", {{"id", "keyword"}});
  Object(w, "transaction", {{"id", "keyword"}});
  Object(w, "container", {{"id", "keyword"}});
  w.Key("kubernetes");  // from the file source's Kubernetes metadata (ECS names)
  w.StartObject();
  w.Key("properties");
  w.StartObject();
  Typed(w, "namespace", "keyword");
  Object(w, "pod", {{"name", "keyword"}, {"uid", "keyword"}});
  Object(w, "container", {{"name", "keyword"}});
  w.EndObject();
  w.EndObject();
  Object(w, "ecs", {{"version", "keyword"}});
  // Arbitrary attribute keys: one field in the mapping, however many keys the logs have.
  Typed(w, "labels", labels.c_str());
  w.EndObject();
  w.EndObject();
  w.EndObject();
  w.Key("_meta");
  w.StartObject();
  w.Key("managed_by");
  w.String("logship");
  w.Key("ecs_version");
  w.String(kEcsVersion);
  w.EndObject();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

std::string IlmPolicyJson(const ElasticsearchConfig& config) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("policy");
  w.StartObject();
  w.Key("_meta");
  w.StartObject();
  w.Key("managed_by");
  w.String("logship");
  w.EndObject();
  w.Key("phases");
  w.StartObject();
  w.Key("hot");
  w.StartObject();
  w.Key("min_age");
  w.String("0ms");
  w.Key("actions");
  w.StartObject();
  if (!config.data_stream.empty()) {
    w.Key("rollover");
    w.StartObject();
    w.Key("max_age");
    w.String(config.rollover_max_age.c_str());
    w.Key("max_primary_shard_size");
    w.String(config.rollover_max_primary_shard_size.c_str());
    w.EndObject();
  }
  w.EndObject();
  w.EndObject();
  if (config.retention_days > 0) {
    w.Key("delete");
    w.StartObject();
    w.Key("min_age");
    w.String((std::to_string(config.retention_days) + "d").c_str());
    w.Key("actions");
    w.StartObject();
    w.Key("delete");
    w.StartObject();
    w.EndObject();
    w.EndObject();
    w.EndObject();
  }
  w.EndObject();
  w.EndObject();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

// {"policy":{"description","default_state":"hot","states":[hot (rollover for data streams;
// to delete after retention_days), delete],"ism_template":[{"index_patterns":[…]}]}}
std::string IsmPolicyJson(const ElasticsearchConfig& config) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("policy");
  w.StartObject();
  w.Key("description");
  w.String("managed by logship");
  w.Key("default_state");
  w.String("hot");
  w.Key("states");
  w.StartArray();
  w.StartObject();
  w.Key("name");
  w.String("hot");
  w.Key("actions");
  w.StartArray();
  if (!config.data_stream.empty()) {
    w.StartObject();
    w.Key("rollover");
    w.StartObject();
    w.Key("min_index_age");
    w.String(config.rollover_max_age.c_str());
    w.Key("min_primary_shard_size");
    w.String(config.rollover_max_primary_shard_size.c_str());
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.Key("transitions");
  w.StartArray();
  if (config.retention_days > 0) {
    w.StartObject();
    w.Key("state_name");
    w.String("delete");
    w.Key("conditions");
    w.StartObject();
    w.Key("min_index_age");
    w.String((std::to_string(config.retention_days) + "d").c_str());
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  if (config.retention_days > 0) {
    w.StartObject();
    w.Key("name");
    w.String("delete");
    w.Key("actions");
    w.StartArray();
    w.StartObject();
    w.Key("delete");
    w.StartObject();
    w.EndObject();
    w.EndObject();
    w.EndArray();
    w.Key("transitions");
    w.StartArray();
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.Key("ism_template");
  w.StartArray();
  w.StartObject();
  w.Key("index_patterns");
  w.StartArray();
  w.String(IndexPattern(config).c_str());
  w.EndArray();
  w.Key("priority");
  w.Uint(config.template_priority);
  w.EndObject();
  w.EndArray();
  w.EndObject();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

std::string LifecyclePolicyJson(const ElasticsearchConfig& config, const EngineInfo& engine) {
  return engine.opensearch() ? IsmPolicyJson(config) : IlmPolicyJson(config);
}

}  // namespace logship::collector::elasticsearch
