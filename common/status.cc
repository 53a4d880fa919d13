#include "common/status.h"

#include <cstring>

namespace logship {

Status Status::FromErrno(const std::string& what, int err) {
  return Status(err == ENOSPC ? Code::kResourceExhausted : Code::kIoError,
                what + ": " + std::strerror(err));
}

std::string Status::ToString() const {
  const char* name = "OK";
  switch (code_) {
    case Code::kOk: return "OK";
    case Code::kInvalidArgument: name = "invalid argument"; break;
    case Code::kNotFound: name = "not found"; break;
    case Code::kIoError: name = "I/O error"; break;
    case Code::kCorruption: name = "corruption"; break;
    case Code::kUnavailable: name = "unavailable"; break;
    case Code::kResourceExhausted: name = "resource exhausted"; break;
  }
  return std::string(name) + ": " + message_;
}

}  // namespace logship
