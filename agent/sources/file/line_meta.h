// What a decoded line carries besides its body and offsets (container_format.h), through
// multi-line grouping to the record. Views are of static strings (valid forever).
#pragma once

#include <cstdint>
#include <string_view>

namespace logship::agent {

struct LineMeta {
  int64_t time_unix_nano = 0;   // the runtime's timestamp of the first piece; 0 = none
  std::string_view stream;      // "stdout" / "stderr"; empty when not known
  std::string_view error;       // why the line is not in its declared format; empty when it is
  // The file's bytes just before the message's next offset (the last line's end and its
  // newline, at most 32) when the body does not end with them; empty when it does.
  std::string_view raw_tail;
};

}  // namespace logship::agent
