#include "collector/server/otlp_shape.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <vector>

namespace logship::collector {
namespace {

using google::protobuf::io::CodedInputStream;
using google::protobuf::internal::WireFormatLite;

// The messages of opentelemetry/proto/collector/logs/v1 and what their fields hold.
enum class Type { kRequest, kResourceLogs, kResource, kScopeLogs, kScope, kRecord, kKeyValue, kAnyValue, kArray, kKvList, kNone };

Type FieldType(Type parent, int field) {
  switch (parent) {
    case Type::kRequest: return field == 1 ? Type::kResourceLogs : Type::kNone;
    case Type::kResourceLogs: return field == 1 ? Type::kResource : field == 2 ? Type::kScopeLogs : Type::kNone;
    case Type::kResource: return field == 1 ? Type::kKeyValue : Type::kNone;
    case Type::kScopeLogs: return field == 1 ? Type::kScope : field == 2 ? Type::kRecord : Type::kNone;
    case Type::kScope: return field == 3 ? Type::kKeyValue : Type::kNone;
    case Type::kRecord: return field == 5 ? Type::kAnyValue : field == 6 ? Type::kKeyValue : Type::kNone;
    case Type::kKeyValue: return field == 2 ? Type::kAnyValue : Type::kNone;
    case Type::kAnyValue: return field == 5 ? Type::kArray : field == 6 ? Type::kKvList : Type::kNone;
    case Type::kArray: return field == 1 ? Type::kAnyValue : Type::kNone;
    case Type::kKvList: return field == 1 ? Type::kKeyValue : Type::kNone;
    case Type::kNone: return Type::kNone;
  }
  return Type::kNone;
}

}  // namespace

Status CheckOtlpShape(std::string_view bytes, const OtlpShapeLimits& limits, OtlpShape* out) {
  const Status malformed = Status::InvalidArgument("not a well-formed ExportLogsServiceRequest");
  CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()), static_cast<int>(bytes.size()));
  in.PushLimit(static_cast<int>(bytes.size()));
  struct Frame {
    Type type;
    CodedInputStream::Limit outer;
  };
  std::vector<Frame> stack;
  Type current = Type::kRequest;
  OtlpShape shape;
  for (;;) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) {
      // The end of the current message (or of the input).
      if (stack.empty()) break;
      if (!in.ConsumedEntireMessage()) return malformed;
      in.PopLimit(stack.back().outer);
      current = stack.back().type;
      stack.pop_back();
      continue;
    }
    const int field = WireFormatLite::GetTagFieldNumber(tag);
    const Type child = FieldType(current, field);
    if (child == Type::kNone || WireFormatLite::GetTagWireType(tag) != WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      if (!WireFormatLite::SkipField(&in, tag)) return malformed;
      continue;
    }
    uint32_t length = 0;
    if (!in.ReadVarint32(&length) || length > static_cast<uint32_t>(in.BytesUntilLimit())) return malformed;
    if (++shape.objects > limits.max_objects)
      return Status::ResourceExhausted("the request holds more than " + std::to_string(limits.max_objects) +
                                       " objects (records, attributes, values)");
    if (child == Type::kRecord && ++shape.records > limits.max_records)
      return Status::ResourceExhausted("the request holds more than max_records (" +
                                       std::to_string(limits.max_records) + ") log records");
    if (stack.size() + 1 > limits.max_depth)
      return Status::InvalidArgument("values nest deeper than " + std::to_string(limits.max_depth) + " levels");
    stack.push_back(Frame{current, in.PushLimit(static_cast<int>(length))});
    shape.depth = std::max<uint32_t>(shape.depth, static_cast<uint32_t>(stack.size()));
    current = child;
  }
  if (!in.ConsumedEntireMessage()) return malformed;
  if (out != nullptr) *out = shape;
  return Status::Ok();
}

}  // namespace logship::collector
