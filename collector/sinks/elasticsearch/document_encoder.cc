#include "collector/sinks/elasticsearch/document_encoder.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdio>
#include <ctime>
#include <utility>

#include "collector/model/record_time.h"
#include "collector/model/severity.h"
#include "common/json_text.h"
#include "common/time_format.h"
#include "common/record_id.h"
#include "common/utf8.h"

namespace logship::collector::elasticsearch {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void Key(JsonWriter& w, const char* k) { w.Key(k); }

// Writes the two lines of each record's bulk item; the buffers are reused across records.
class ItemWriter {
 public:
  explicit ItemWriter(const DecodedBatch& batch) : batch_(batch) {}

  // {"create":{"_index":…,"_id":…}}
  void Action(const std::string& index, const std::string& id, std::string* out) {
    json_.Clear();
    JsonWriter w(json_);
    w.StartObject();
    Key(w, "create");
    w.StartObject();
    Key(w, "_index");
    w.String(index.c_str(), static_cast<rapidjson::SizeType>(index.size()));
    Key(w, "_id");
    w.String(id.c_str(), static_cast<rapidjson::SizeType>(id.size()));
    w.EndObject();
    w.EndObject();
    Line(out);
  }

  // The ECS document.
  void Document(const logship::v1::LogRecord& r, int64_t ts, std::string* out) {
    const auto& source = batch_.batch->sources(static_cast<int>(r.source_index()));
    json_.Clear();
    JsonWriter w(json_);
    w.StartObject();
    Key(w, "@timestamp");
    w.String(FormatUtc(ts, 9).c_str());
    Key(w, "message");
    const bool escaped = WriteJsonText(w, r.body(), &scratch_);
    Key(w, "event");
    w.StartObject();
    Key(w, "created");
    w.String(FormatUtc(static_cast<int64_t>(r.observed_time_unix_nano()), 9).c_str());
    if (r.severity() > 0) {
      Key(w, "severity");
      w.Int(r.severity());
    }
    w.EndObject();
    LogObject(w, source, r.severity());
    EcsFields(w, source, r);
    Labels(w, source, r, escaped);
    w.EndObject();
    Line(out);
  }

 private:
  void Line(std::string* out) {
    out->append(json_.GetString(), json_.GetSize());
    out->push_back('\n');
  }

  void LogObject(JsonWriter& w, const logship::v1::Source& source, int severity) {
    Key(w, "log");
    w.StartObject();
    if (const std::string_view level = SeverityText(severity); !level.empty()) {
      Key(w, "level");
      w.String(level.data(), static_cast<rapidjson::SizeType>(level.size()));
    }
    if (!source.name().empty() && source.name()[0] == '/') {
      Key(w, "file");
      w.StartObject();
      Key(w, "path");
      WriteJsonText(w, source.name(), &scratch_);
      w.EndObject();
    } else {
      Key(w, "logger");
      WriteJsonText(w, source.name(), &scratch_);
    }
    w.EndObject();
  }

  // "object": {"field": "value"}, for the ECS fields that are one value in an object.
  void Nested(JsonWriter& w, const char* object, const char* field, std::string_view value) {
    if (value.empty()) return;
    Key(w, object);
    w.StartObject();
    Key(w, field);
    WriteJsonText(w, value, &scratch_);
    w.EndObject();
  }

  void EcsFields(JsonWriter& w, const logship::v1::Source& source, const logship::v1::LogRecord& r) {
    std::string_view service, trace_id, correlation_id;
    Kubernetes k8s;
    for (const auto* attrs : {&source.attributes(), &r.attributes()})
      for (const auto& kv : *attrs) {
        if (kv.key() == "service.name" || (kv.key() == "service" && service.empty())) service = kv.value();
        else if (kv.key() == "trace_id") trace_id = kv.value();
        else if (kv.key() == "correlation_id") correlation_id = kv.value();
        else k8s.Take(kv.key(), kv.value());
      }
    Nested(w, "host", "name", batch_.batch->host());
    Key(w, "agent");
    w.StartObject();
    Key(w, "id");
    WriteJsonText(w, batch_.agent_id, &scratch_);
    Key(w, "type");
    w.String("logship");
    w.EndObject();
    Nested(w, "service", "name", service);
    Nested(w, "trace", "id", trace_id);
    Nested(w, "transaction", "id", correlation_id);
    KubernetesFields(w, k8s);
    Key(w, "ecs");
    w.StartObject();
    Key(w, "version");
    w.String(kEcsVersion);
    w.EndObject();
  }

  // The file source's Kubernetes metadata (OpenTelemetry attribute names) as ECS fields.
  struct Kubernetes {
    std::string_view ns, pod, pod_uid, container, container_id;
    void Take(std::string_view key, std::string_view value) {
      if (key == "k8s.namespace.name") ns = value;
      else if (key == "k8s.pod.name") pod = value;
      else if (key == "k8s.pod.uid") pod_uid = value;
      else if (key == "k8s.container.name") container = value;
      else if (key == "container.id") container_id = value;
    }
  };

  void KubernetesFields(JsonWriter& w, const Kubernetes& k) {
    Nested(w, "container", "id", k.container_id);
    if (k.ns.empty() && k.pod.empty() && k.pod_uid.empty() && k.container.empty()) return;
    Key(w, "kubernetes");
    w.StartObject();
    if (!k.ns.empty()) {
      Key(w, "namespace");
      WriteJsonText(w, k.ns, &scratch_);
    }
    if (!k.pod.empty() || !k.pod_uid.empty()) {
      Key(w, "pod");
      w.StartObject();
      for (const auto& [field, value] : {std::pair{"name", k.pod}, std::pair{"uid", k.pod_uid}}) {
        if (value.empty()) continue;
        Key(w, field);
        WriteJsonText(w, value, &scratch_);
      }
      w.EndObject();
    }
    Nested(w, "container", "name", k.container);
    w.EndObject();
  }

  // labels: source attributes, then record attributes, then the logship flags; a later key
  // replaces an earlier one (Elasticsearch refuses a document with a repeated key).
  void Labels(JsonWriter& w, const logship::v1::Source& source, const logship::v1::LogRecord& r, bool escaped) {
    labels_.clear();
    // Compared as written (escaped): two raw keys may escape to the same text.
    const auto put = [this](std::string_view k, std::string_view v) {
      std::string key;
      AppendEscapedUtf8(k, &key);
      for (auto& kv : labels_)
        if (kv.first == key) {
          kv.second = v;
          return;
        }
      labels_.emplace_back(std::move(key), v);
    };
    for (const auto* attrs : {&source.attributes(), &r.attributes()})
      for (const auto& kv : *attrs) put(kv.key(), kv.value());
    if (escaped) put("logship.escaped", "true");
    if (r.flags() & logship::v1::LogRecord::FLAG_PARTIAL)
      put("logship.partial", (r.flags() & logship::v1::LogRecord::FLAG_LAST_PART) ? "last" : "true");
    if (labels_.empty()) return;
    Key(w, "labels");
    w.StartObject();
    for (const auto& [k, v] : labels_) {
      w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
      WriteJsonText(w, v, &scratch_);
    }
    w.EndObject();
  }

  const DecodedBatch& batch_;
  rapidjson::StringBuffer json_;
  std::string scratch_;
  std::vector<std::pair<std::string, std::string_view>> labels_;
};

}  // namespace

std::string_view SeverityText(int severity) { return severity <= 0 ? "" : SeverityClassName(severity); }

std::string IndexFor(const ElasticsearchConfig& config, int64_t unix_nanos) {
  if (!config.data_stream.empty()) return config.data_stream;
  const std::tm tm = UtcCalendar(FloorSeconds(unix_nanos));
  char buf[256];
  const size_t n = std::strftime(buf, sizeof buf, config.index.c_str(), &tm);
  return n == 0 ? config.index : std::string(buf, n);
}

std::vector<BulkItem> EncodeBulkItems(const DecodedBatch& batch, const ElasticsearchConfig& config) {
  std::vector<BulkItem> items;
  items.reserve(static_cast<size_t>(batch.batch->records_size()));
  ItemWriter writer(batch);
  // Records of a batch mostly share a day (an hour with %H): cache the index name per bucket.
  const int64_t bucket_nanos = config.index.find("%H") != std::string::npos ? 3600000000000LL : 86400000000000LL;
  int64_t cached_bucket = INT64_MIN;
  std::string cached_index;
  for (const auto& r : batch.batch->records()) {
    BulkItem item;
    RecordId id;
    item.id = RecordId::FromBytes(r.id(), &id) ? id.ToUuid() : "00000000-0000-0000-0000-000000000000";
    const int64_t ts = RecordTimeNanos(r);
    const int64_t bucket = ts / bucket_nanos - (ts % bucket_nanos < 0 ? 1 : 0);
    if (bucket != cached_bucket) {
      cached_index = IndexFor(config, ts);
      cached_bucket = bucket;
    }
    writer.Action(cached_index, item.id, &item.lines);
    writer.Document(r, ts, &item.lines);
    items.push_back(std::move(item));
  }
  return items;
}

}  // namespace logship::collector::elasticsearch
