#include "collector/sinks/elasticsearch/engine_info.h"

#include <rapidjson/document.h>

#include <charconv>

namespace logship::collector::elasticsearch {
namespace {

constexpr unsigned kParseFlags = rapidjson::kParseIterativeFlag | rapidjson::kParseStopWhenDoneFlag;

const rapidjson::Value* Member(const rapidjson::Value& obj, const char* name) {
  if (!obj.IsObject()) return nullptr;
  auto it = obj.FindMember(name);
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

std::string_view Text(const rapidjson::Value* v) {
  return v && v->IsString() ? std::string_view(v->GetString(), v->GetStringLength()) : std::string_view();
}

// "8.19.21" -> major 8, minor 19; anything else leaves them 0 (unknown).
EngineInfo WithVersion(EngineInfo::Kind kind, std::string_view number) {
  EngineInfo info;
  info.kind = kind;
  info.version = std::string(number.substr(0, 64));
  const char* p = number.data();
  const char* end = p + number.size();
  int major = 0, minor = 0;
  auto r = std::from_chars(p, end, major);
  if (r.ec != std::errc() || r.ptr == end || *r.ptr != '.') return info;
  if (std::from_chars(r.ptr + 1, end, minor).ec != std::errc()) return info;
  info.major = major;
  info.minor = minor;
  return info;
}

bool AtLeast(const EngineInfo& e, int major, int minor) {
  return e.major == 0 || e.major > major || (e.major == major && e.minor >= minor);
}

}  // namespace

std::string EngineInfo::Describe() const {
  return std::string(opensearch() ? "opensearch " : "elasticsearch ") +
         (version.empty() ? "(version unknown)" : version);
}

std::string_view EngineInfo::LabelsType() const {
  if (opensearch()) return AtLeast(*this, 2, 7) ? "flat_object" : "object";
  return AtLeast(*this, 7, 3) ? "flattened" : "object";
}

std::string_view EngineInfo::NanosDateType() const {
  return opensearch() || AtLeast(*this, 7, 0) ? "date_nanos" : "date";
}

std::string EngineInfo::LifecyclePolicyPath(const std::string& policy_name) const {
  return (opensearch() ? "/_plugins/_ism/policies/" : "/_ilm/policy/") + policy_name;
}

Result<EngineInfo> ParseRootInfo(std::string_view body) {
  rapidjson::Document doc;
  doc.Parse<kParseFlags>(body.data(), body.size());
  if (doc.HasParseError()) return Status::Corruption("GET / answered with something other than JSON");
  const rapidjson::Value* version = Member(doc, "version");
  const std::string_view number = Text(version ? Member(*version, "number") : nullptr);
  if (number.empty()) return Status::Corruption("GET / names no version.number");
  const bool opensearch = Text(Member(*version, "distribution")) == "opensearch";
  return WithVersion(opensearch ? EngineInfo::Kind::kOpenSearch : EngineInfo::Kind::kElasticsearch, number);
}

Result<EngineInfo> ParseNodesInfo(std::string_view body) {
  rapidjson::Document doc;
  doc.Parse<kParseFlags>(body.data(), body.size());
  if (doc.HasParseError()) return Status::Corruption("GET /_nodes answered with something other than JSON");
  const rapidjson::Value* nodes = Member(doc, "nodes");
  if (!nodes || !nodes->IsObject() || nodes->MemberCount() == 0) return Status::Corruption("GET /_nodes names no node");
  const std::string_view number = Text(Member(nodes->MemberBegin()->value, "version"));
  if (number.empty()) return Status::Corruption("GET /_nodes names no version");
  return WithVersion(EngineInfo::Kind::kElasticsearch, number);
}

bool IsNoEndpoint(std::string_view body) {
  rapidjson::Document doc;
  doc.Parse<kParseFlags>(body.data(), body.size());
  const std::string_view error = doc.HasParseError() ? std::string_view() : Text(Member(doc, "error"));
  return error.starts_with("no handler found for uri") || error.starts_with("Incorrect HTTP method for uri");
}

}  // namespace logship::collector::elasticsearch
