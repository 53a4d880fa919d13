#include "collector/sinks/elasticsearch/bulk_response.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

namespace logship::collector::elasticsearch {
namespace {

constexpr unsigned kParseFlags = rapidjson::kParseIterativeFlag | rapidjson::kParseStopWhenDoneFlag;

std::string Capped(std::string_view s, size_t max) {
  std::string out;
  for (char c : s.substr(0, max)) out.push_back(static_cast<unsigned char>(c) < 0x20 ? ' ' : c);
  return out;
}

std::string StringMember(const rapidjson::Value& obj, const char* name) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || !it->value.IsString()) return "";
  return Capped(std::string_view(it->value.GetString(), it->value.GetStringLength()), kMaxReasonBytes);
}

}  // namespace

ItemAction ClassifyItem(int status) {
  if ((status >= 200 && status < 300) || status == 409) return ItemAction::kStored;
  if (status == 429 || status >= 500) return ItemAction::kRetry;
  if (status == 401 || status == 403 || status == 404) return ItemAction::kBlocked;
  if (status >= 400) return ItemAction::kDeadLetter;
  return ItemAction::kRetry;  // 1xx/3xx or missing: not a stored document
}

Result<BulkResponse> ParseBulkResponse(std::string_view body) {
  rapidjson::Document doc;
  doc.Parse<kParseFlags>(body.data(), body.size());
  if (doc.HasParseError())
    return Status::Corruption(std::string("malformed _bulk response: ") + rapidjson::GetParseError_En(doc.GetParseError()) +
                              " at byte " + std::to_string(doc.GetErrorOffset()));
  if (!doc.IsObject()) return Status::Corruption("malformed _bulk response: not a JSON object");
  const rapidjson::Value& root = doc;  // const iterators: C++20 finds no ambiguous comparisons
  BulkResponse out;
  if (auto e = root.FindMember("errors"); e != root.MemberEnd() && e->value.IsBool()) out.errors = e->value.GetBool();
  auto items = root.FindMember("items");
  if (items == root.MemberEnd() || !items->value.IsArray())
    return Status::Corruption("malformed _bulk response: no items array");
  out.items.reserve(items->value.Size());
  for (const auto& wrapper : items->value.GetArray()) {
    // {"create": {...}}: one member named after the action.
    if (!wrapper.IsObject() || wrapper.MemberCount() != 1 || !wrapper.MemberBegin()->value.IsObject())
      return Status::Corruption("malformed _bulk response: item " + std::to_string(out.items.size()) +
                                " is not {\"<action>\": {...}}");
    const rapidjson::Value& item = wrapper.MemberBegin()->value;
    BulkItemResult r;
    auto status = item.FindMember("status");
    if (status == item.MemberEnd() || !status->value.IsInt())
      return Status::Corruption("malformed _bulk response: item " + std::to_string(out.items.size()) +
                                " has no integer status");
    r.status = status->value.GetInt();
    if (auto err = item.FindMember("error"); err != item.MemberEnd()) {
      if (err->value.IsObject()) {
        r.error_type = StringMember(err->value, "type");
        r.error_reason = StringMember(err->value, "reason");
      } else if (err->value.IsString()) {
        r.error_reason = Capped(std::string_view(err->value.GetString(), err->value.GetStringLength()), kMaxReasonBytes);
      }
      if (r.error_type.empty()) r.error_type = "error";
    }
    out.items.push_back(std::move(r));
  }
  return out;
}

std::string ErrorSummary(std::string_view body) {
  rapidjson::Document doc;
  doc.Parse<kParseFlags>(body.data(), body.size());
  if (!doc.HasParseError() && doc.IsObject()) {
    const rapidjson::Value& root = doc;
    auto err = root.FindMember("error");
    if (err != root.MemberEnd() && err->value.IsObject()) {
      std::string type = StringMember(err->value, "type"), reason = StringMember(err->value, "reason");
      if (!type.empty() || !reason.empty()) return type + ": " + reason;
    }
  }
  if (body.empty()) return "(empty body)";
  return Capped(body, 200);
}

}  // namespace logship::collector::elasticsearch
