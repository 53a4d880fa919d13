#include "collector/sinks/postgres/copy_encoder.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "common/json_text.h"
#include "common/utf8.h"
#include "common/time_format.h"

namespace logship::collector::postgres {
namespace {

constexpr int64_t kNanosPerDay = 86400LL * 1000000000LL;

// COPY text format: backslash, tab, newline and carriage return must be escaped. Clean
// runs are appended whole (most lines have nothing to escape).
void AppendCopyEscaped(std::string_view s, std::string* out) {
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c != '\\' && c != '\t' && c != '\n' && c != '\r') continue;
    out->append(s.data() + run, i - run);
    out->push_back('\\');
    out->push_back(c == '\\' ? '\\' : c == '\t' ? 't' : c == '\n' ? 'n' : 'r');
    run = i + 1;
  }
  out->append(s.data() + run, s.size() - run);
}

// Text safe for PostgreSQL (valid UTF-8, no NUL), then COPY-escaped.
bool AppendTextField(std::string_view s, std::string* scratch, std::string* out) {
  if (ValidUtf8Prefix(s) == s.size() && s.find('\0') == std::string_view::npos) {
    AppendCopyEscaped(s, out);  // the common case: no repair, no copy
    return false;
  }
  scratch->clear();
  const bool escaped = AppendEscapedUtf8(s, scratch);
  AppendCopyEscaped(*scratch, out);
  return escaped;
}

void AppendUuid(const std::string& id16, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  if (id16.size() != 16) {  // every ingest path checks this; never index past the id
    out->append("00000000-0000-0000-0000-000000000000");
    return;
  }
  char buf[36];
  size_t j = 0;
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) buf[j++] = '-';
    const auto b = static_cast<uint8_t>(id16[i]);
    buf[j++] = kHex[b >> 4];
    buf[j++] = kHex[b & 0xf];
  }
  out->append(buf, sizeof buf);
}

// Formats "YYYY-MM-DD HH:MM:SS.uuuuuu+00". Records of a batch mostly share their second,
// so the calendar part is cached per second (gmtime + snprintf per row was a hot spot).
class TimestampFormatter {
 public:
  void Append(int64_t nanos, std::string* out) {
    int64_t micros = nanos / 1000 - (nanos % 1000 < 0 ? 1 : 0);
    int64_t secs = micros / 1000000;
    int64_t frac = micros % 1000000;
    if (frac < 0) {
      frac += 1000000;
      --secs;
    }
    if (secs != cached_secs_ || prefix_len_ == 0) {
      const std::tm tm = UtcCalendar(secs);
      prefix_len_ = static_cast<size_t>(std::snprintf(prefix_, sizeof prefix_, "%04d-%02d-%02d %02d:%02d:%02d.",
                                                      tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                                                      tm.tm_min, tm.tm_sec));
      cached_secs_ = secs;
    }
    out->append(prefix_, prefix_len_);
    char digits[6];
    for (int i = 5; i >= 0; --i) {
      digits[i] = static_cast<char>('0' + frac % 10);
      frac /= 10;
    }
    out->append(digits, 6).append("+00");
  }

 private:
  int64_t cached_secs_ = 0;
  char prefix_[96];
  size_t prefix_len_ = 0;
};

}  // namespace

const char* CopyColumns() {
  return "id, ts, observed_ts, host, agent_id, source, severity, body, attributes, trace_id, correlation_id";
}

std::vector<int64_t> DaysTouched(const DecodedBatch& batch) {
  std::vector<int64_t> days;
  for (const auto& r : batch.batch->records()) {
    const int64_t t = RecordTimeNanos(r);
    const int64_t day = t / kNanosPerDay - (t % kNanosPerDay < 0 ? 1 : 0);
    if (std::find(days.begin(), days.end(), day) == days.end()) days.push_back(day);
  }
  return days;
}

namespace {

// The attributes, trace_id and correlation_id columns of a record with attributes or flags
// of its own: source attributes, then record attributes (which win), then the flags.
void AppendRecordAttributes(const logship::v1::Batch& b, const logship::v1::LogRecord& r, bool escaped,
                            rapidjson::StringBuffer& json, std::string& scratch, std::string* out) {
  json.Clear();
  rapidjson::Writer<rapidjson::StringBuffer> w(json);
  std::string_view trace_id, correlation_id;
  w.StartObject();
  const auto emit = [&](const logship::v1::KeyValue& kv) {
    WriteJsonText(w, kv.key(), &scratch);
    WriteJsonText(w, kv.value(), &scratch);
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

// The attributes column of records with none of their own: the source's, COPY-escaped.
std::string SourceAttributes(const logship::v1::Source& source, rapidjson::StringBuffer& json, std::string& scratch) {
  json.Clear();
  rapidjson::Writer<rapidjson::StringBuffer> w(json);
  w.StartObject();
  for (const auto& kv : source.attributes()) {
    WriteJsonText(w, kv.key(), &scratch);
    WriteJsonText(w, kv.value(), &scratch);
  }
  w.EndObject();
  std::string out;
  AppendCopyEscaped(std::string_view(json.GetString(), json.GetSize()), &out);
  return out;
}

}  // namespace

void EncodeCopyRows(const DecodedBatch& batch, std::string* out) {
  const auto& b = *batch.batch;
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
  TimestampFormatter ts;
  // COPY-escaped attributes JSON of each source, for the common record without attributes
  // or flags of its own (built on first use).
  std::vector<std::string> source_json(source_names.size());
  for (const auto& r : b.records()) {
    AppendUuid(r.id(), out);  // 16 bytes, checked by the frame decoder
    out->push_back('\t');
    ts.Append(RecordTimeNanos(r), out);
    out->push_back('\t');
    ts.Append(static_cast<int64_t>(r.observed_time_unix_nano()), out);
    out->push_back('\t');
    out->append(host).push_back('\t');
    out->append(agent).push_back('\t');
    out->append(source_names[r.source_index()]).push_back('\t');
    const int sev = std::clamp(r.severity(), 0, 24);
    if (sev >= 10) out->push_back(static_cast<char>('0' + sev / 10));
    out->push_back(static_cast<char>('0' + sev % 10));
    out->push_back('\t');
    const bool escaped = AppendTextField(r.body(), &scratch, out);
    out->push_back('\t');
    if (r.attributes_size() == 0 && !escaped && r.flags() == 0) {
      std::string& cached = source_json[r.source_index()];
      if (cached.empty()) cached = SourceAttributes(b.sources(static_cast<int>(r.source_index())), json, scratch);
      out->append(cached).append("\t\\N\t\\N\n");
      continue;
    }
    AppendRecordAttributes(b, r, escaped, json, scratch, out);
  }
}

}  // namespace logship::collector::postgres
