#include "collector/sinks/elasticsearch/document_encoder.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdio>
#include <ctime>
#include <utility>

#include "collector/sinks/postgres/copy_encoder.h"
#include "common/json_text.h"
#include "common/record_id.h"
#include "common/utf8.h"

namespace logship::collector::elasticsearch {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

std::tm UtcCalendar(int64_t unix_nanos) {
  int64_t secs = unix_nanos / 1000000000;
  if (unix_nanos % 1000000000 < 0) --secs;
  const time_t t = static_cast<time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

// RFC 3339 with nanoseconds: "2026-11-22T16:00:00.123456789Z" (Elasticsearch date_nanos).
std::string Rfc3339Nanos(int64_t unix_nanos) {
  const std::tm tm = UtcCalendar(unix_nanos);
  int64_t frac = unix_nanos % 1000000000;
  if (frac < 0) frac += 1000000000;
  char buf[64];
  const int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
                              tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(frac));
  return std::string(buf, static_cast<size_t>(n));
}

void Key(JsonWriter& w, const char* k) { w.Key(k); }

}  // namespace

std::string_view SeverityText(int severity) {
  if (severity <= 0) return "";
  if (severity <= 4) return "trace";
  if (severity <= 8) return "debug";
  if (severity <= 12) return "info";
  if (severity <= 16) return "warn";
  if (severity <= 20) return "error";
  return "fatal";
}

std::string IndexFor(const ElasticsearchConfig& config, int64_t unix_nanos) {
  if (!config.data_stream.empty()) return config.data_stream;
  const std::tm tm = UtcCalendar(unix_nanos);
  char buf[256];
  const size_t n = std::strftime(buf, sizeof buf, config.index.c_str(), &tm);
  return n == 0 ? config.index : std::string(buf, n);
}

std::vector<BulkItem> EncodeBulkItems(const DecodedBatch& batch, const ElasticsearchConfig& config) {
  const auto& b = *batch.batch;
  std::vector<BulkItem> items;
  items.reserve(static_cast<size_t>(b.records_size()));
  std::string scratch;
  rapidjson::StringBuffer json;
  // Records of a batch mostly share a day (an hour with %H): cache the index name per bucket.
  const int64_t bucket_nanos = config.index.find("%H") != std::string::npos ? 3600000000000LL : 86400000000000LL;
  int64_t cached_day = INT64_MIN;
  std::string cached_index;
  std::vector<std::pair<std::string, std::string_view>> labels;
  for (const auto& r : b.records()) {
    BulkItem item;
    RecordId id;
    item.id = RecordId::FromBytes(r.id(), &id) ? id.ToUuid() : "00000000-0000-0000-0000-000000000000";
    const int64_t ts = postgres::RecordTimeNanos(r);
    const int64_t day = ts / bucket_nanos - (ts % bucket_nanos < 0 ? 1 : 0);
    if (day != cached_day) {
      cached_index = IndexFor(config, ts);
      cached_day = day;
    }

    json.Clear();
    {
      JsonWriter w(json);
      w.StartObject();
      Key(w, "create");
      w.StartObject();
      Key(w, "_index");
      w.String(cached_index.c_str(), static_cast<rapidjson::SizeType>(cached_index.size()));
      Key(w, "_id");
      w.String(item.id.c_str(), static_cast<rapidjson::SizeType>(item.id.size()));
      w.EndObject();
      w.EndObject();
    }
    item.lines.assign(json.GetString(), json.GetSize());
    item.lines.push_back('\n');

    const auto& source = b.sources(static_cast<int>(r.source_index()));
    std::string_view service, trace_id, correlation_id;
    for (const auto* attrs : {&source.attributes(), &r.attributes()})
      for (const auto& kv : *attrs) {
        if (kv.key() == "service.name" || (kv.key() == "service" && service.empty())) service = kv.value();
        else if (kv.key() == "trace_id") trace_id = kv.value();
        else if (kv.key() == "correlation_id") correlation_id = kv.value();
      }

    json.Clear();
    JsonWriter w(json);
    w.StartObject();
    Key(w, "@timestamp");
    w.String(Rfc3339Nanos(ts).c_str());
    Key(w, "message");
    const bool escaped = WriteJsonText(w, r.body(), &scratch);
    Key(w, "event");
    w.StartObject();
    Key(w, "created");
    w.String(Rfc3339Nanos(static_cast<int64_t>(r.observed_time_unix_nano())).c_str());
    if (r.severity() > 0) {
      Key(w, "severity");
      w.Int(r.severity());
    }
    w.EndObject();
    Key(w, "log");
    w.StartObject();
    if (const std::string_view level = SeverityText(r.severity()); !level.empty()) {
      Key(w, "level");
      w.String(level.data(), static_cast<rapidjson::SizeType>(level.size()));
    }
    if (!source.name().empty() && source.name()[0] == '/') {
      Key(w, "file");
      w.StartObject();
      Key(w, "path");
      WriteJsonText(w, source.name(), &scratch);
      w.EndObject();
    } else {
      Key(w, "logger");
      WriteJsonText(w, source.name(), &scratch);
    }
    w.EndObject();
    // "object": {"field": "value"}, for the ECS fields that are one value in an object.
    const auto nested = [&](const char* object, const char* field, std::string_view value) {
      if (value.empty()) return;
      Key(w, object);
      w.StartObject();
      Key(w, field);
      WriteJsonText(w, value, &scratch);
      w.EndObject();
    };
    nested("host", "name", b.host());
    Key(w, "agent");
    w.StartObject();
    Key(w, "id");
    WriteJsonText(w, batch.agent_id, &scratch);
    Key(w, "type");
    w.String("logship");
    w.EndObject();
    nested("service", "name", service);
    nested("trace", "id", trace_id);
    nested("transaction", "id", correlation_id);
    Key(w, "ecs");
    w.StartObject();
    Key(w, "version");
    w.String(kEcsVersion);
    w.EndObject();
    // labels: source attributes, then record attributes, then the logship flags; a later
    // key replaces an earlier one (Elasticsearch refuses a document with a repeated key).
    labels.clear();
    // Compared as written (escaped): two raw keys may escape to the same text.
    const auto put = [&labels](std::string_view k, std::string_view v) {
      std::string key;
      AppendEscapedUtf8(k, &key);
      for (auto& kv : labels)
        if (kv.first == key) {
          kv.second = v;
          return;
        }
      labels.emplace_back(std::move(key), v);
    };
    for (const auto* attrs : {&source.attributes(), &r.attributes()})
      for (const auto& kv : *attrs) put(kv.key(), kv.value());
    if (escaped) put("logship.escaped", "true");
    if (r.flags() & logship::v1::LogRecord::FLAG_PARTIAL)
      put("logship.partial", (r.flags() & logship::v1::LogRecord::FLAG_LAST_PART) ? "last" : "true");
    if (!labels.empty()) {
      Key(w, "labels");
      w.StartObject();
      for (const auto& [k, v] : labels) {
        w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
        WriteJsonText(w, v, &scratch);
      }
      w.EndObject();
    }
    w.EndObject();
    item.lines.append(json.GetString(), json.GetSize());
    item.lines.push_back('\n');
    items.push_back(std::move(item));
  }
  return items;
}

}  // namespace logship::collector::elasticsearch
