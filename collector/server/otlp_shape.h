// Checks the shape of a serialized ExportLogsServiceRequest straight from its wire bytes,
// before protobuf parses it: how many log records, how many objects parsing would allocate
// (resources, scopes, records, key/values, values), and how deep values nest. A few MiB of
// 2-byte empty records would otherwise become millions of objects (GiBs of heap). Iterative:
// no input can exhaust the stack. Pure.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/status.h"

namespace logship::collector {

struct OtlpShapeLimits {
  uint64_t max_records = 100000;    // log records in the request
  uint64_t max_objects = 1000000;   // every message protobuf would allocate
  uint32_t max_depth = 100;         // nesting of messages (protobuf's own parse limit)
};

struct OtlpShape {
  uint64_t records = 0;
  uint64_t objects = 0;
  uint32_t depth = 0;
};

// ResourceExhausted over a limit, InvalidArgument when the bytes are not a well-formed
// request; *shape (optional) gets what was counted.
Status CheckOtlpShape(std::string_view bytes, const OtlpShapeLimits& limits, OtlpShape* shape = nullptr);

}  // namespace logship::collector
