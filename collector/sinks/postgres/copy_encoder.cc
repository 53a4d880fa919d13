#include "collector/sinks/postgres/copy_encoder.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "common/record_id.h"
#include "common/utf8.h"

namespace logship::collector::postgres {
namespace {

constexpr int64_t kNanosPerDay = 86400LL * 1000000000LL;

// COPY text format: backslash, tab, newline and carriage return must be escaped.
void AppendCopyEscaped(std::string_view s, std::string* out) {
  for (char c : s) {
    switch (c) {
      case '\\': out->append("\\\\"); break;
      case '\t': out->append("\\t"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      default: out->push_back(c);
    }
  }
}

// Text safe for PostgreSQL (valid UTF-8, no NUL), then COPY-escaped.
bool AppendTextField(std::string_view s, std::string* scratch, std::string* out) {
  scratch->clear();
  const bool escaped = AppendEscapedUtf8(s, scratch);
  AppendCopyEscaped(*scratch, out);
  return escaped;
}

void AppendTimestamp(int64_t nanos, std::string* out) {
  const int64_t micros = nanos / 1000 - (nanos % 1000 < 0 ? 1 : 0);
  time_t secs = static_cast<time_t>(micros / 1000000);
  int64_t frac = micros % 1000000;
  if (frac < 0) {
    frac += 1000000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%06lld+00", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(frac));
  out->append(buf);
}

void WriteJsonString(rapidjson::Writer<rapidjson::StringBuffer>& w, std::string_view s, std::string* scratch) {
  scratch->clear();
  AppendEscapedUtf8(s, scratch);
  w.String(scratch->data(), static_cast<rapidjson::SizeType>(scratch->size()));
}

}  // namespace

const char* CopyColumns() {
  return "id, ts, observed_ts, host, agent_id, source, severity, body, attributes, trace_id, correlation_id";
}

int64_t RecordTimeNanos(const logship::v1::LogRecord& r) {
  return static_cast<int64_t>(r.time_unix_nano() != 0 ? r.time_unix_nano() : r.observed_time_unix_nano());
}

std::vector<int64_t> DaysTouched(const DecodedBatch& batch) {
  std::vector<int64_t> days;
  for (const auto& r : batch.batch.records()) {
    const int64_t t = RecordTimeNanos(r);
    const int64_t day = t / kNanosPerDay - (t % kNanosPerDay < 0 ? 1 : 0);
    if (std::find(days.begin(), days.end(), day) == days.end()) days.push_back(day);
  }
  return days;
}

void EncodeCopyRows(const DecodedBatch& batch, std::string* out) {
  const auto& b = batch.batch;
  std::string scratch, host, agent;
  AppendTextField(b.host(), &scratch, &host);
  AppendTextField(batch.agent_id, &scratch, &agent);
  std::vector<std::string> source_names;
  source_names.reserve(static_cast<size_t>(b.sources_size()));
  for (const auto& s : b.sources()) {
    std::string n;
    AppendTextField(s.name(), &scratch, &n);
    source_names.push_back(std::move(n));
  }
  rapidjson::StringBuffer json;
  std::string id_text;
  for (const auto& r : b.records()) {
    RecordId id;
    RecordId::FromBytes(r.id(), &id);
    out->append(id.ToUuid()).push_back('\t');
    AppendTimestamp(RecordTimeNanos(r), out);
    out->push_back('\t');
    AppendTimestamp(static_cast<int64_t>(r.observed_time_unix_nano()), out);
    out->push_back('\t');
    out->append(host).push_back('\t');
    out->append(agent).push_back('\t');
    out->append(source_names[r.source_index()]).push_back('\t');
    out->append(std::to_string(std::clamp(r.severity(), 0, 24))).push_back('\t');
    const bool escaped = AppendTextField(r.body(), &scratch, out);
    out->push_back('\t');

    // attributes: source attributes, then record attributes (which win), then flags.
    json.Clear();
    rapidjson::Writer<rapidjson::StringBuffer> w(json);
    std::string_view trace_id, correlation_id;
    w.StartObject();
    const auto emit = [&](const logship::v1::KeyValue& kv) {
      WriteJsonString(w, kv.key(), &scratch);
      WriteJsonString(w, kv.value(), &scratch);
    };
    for (const auto& kv : b.sources(static_cast<int>(r.source_index())).attributes()) emit(kv);
    for (const auto& kv : r.attributes()) {
      if (kv.key() == "trace_id") trace_id = kv.value();
      else if (kv.key() == "correlation_id") correlation_id = kv.value();
      emit(kv);
    }
    if (escaped) {
      w.Key("logship.escaped");
      w.String("true");
    }
    if (r.flags() & logship::v1::LogRecord::FLAG_PARTIAL) {
      w.Key("logship.partial");
      w.String((r.flags() & logship::v1::LogRecord::FLAG_LAST_PART) ? "last" : "true");
    }
    w.EndObject();
    AppendCopyEscaped(std::string_view(json.GetString(), json.GetSize()), out);
    out->push_back('\t');
    if (trace_id.empty()) out->append("\\N"); else AppendTextField(trace_id, &scratch, out);
    out->push_back('\t');
    if (correlation_id.empty()) out->append("\\N"); else AppendTextField(correlation_id, &scratch, out);
    out->push_back('\n');
  }
}

}  // namespace logship::collector::postgres
