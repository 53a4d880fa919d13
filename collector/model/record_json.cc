#include "collector/model/record_json.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "common/json_text.h"
#include "common/record_id.h"

namespace logship::collector {

std::string RecordAsJson(const logship::v1::Batch& batch, const logship::v1::LogRecord& r) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  std::string scratch;
  RecordId id;
  w.StartObject();
  w.Key("id");
  if (RecordId::FromBytes(r.id(), &id)) w.String(id.ToUuid().c_str()); else w.Null();
  w.Key("source");
  if (static_cast<int>(r.source_index()) < batch.sources_size())
    WriteJsonText(w, batch.sources(static_cast<int>(r.source_index())).name(), &scratch);
  else
    w.Null();
  w.Key("time_unix_nano");
  w.Uint64(r.time_unix_nano());
  w.Key("observed_time_unix_nano");
  w.Uint64(r.observed_time_unix_nano());
  w.Key("severity");
  w.Int(r.severity());
  w.Key("body");
  WriteJsonText(w, r.body(), &scratch);
  w.Key("attributes");
  w.StartObject();
  for (const auto& kv : r.attributes()) {
    scratch.clear();
    AppendEscapedUtf8(kv.key(), &scratch);
    w.Key(scratch.data(), static_cast<rapidjson::SizeType>(scratch.size()));
    WriteJsonText(w, kv.value(), &scratch);
  }
  w.EndObject();
  w.Key("flags");
  w.Uint(r.flags());
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace logship::collector
