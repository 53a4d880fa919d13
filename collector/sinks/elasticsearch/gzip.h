// gzip (RFC 1952) compression of request bodies, via zlib. Thread-safe (no shared state).
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace logship::collector::elasticsearch {

// `level` 1 (fastest) … 9 (smallest).
Result<std::string> GzipCompress(std::string_view data, int level);
// For tests and the fake's mirror image: inflates one gzip member, at most `max_bytes` out.
Result<std::string> GzipDecompress(std::string_view data, size_t max_bytes);

}  // namespace logship::collector::elasticsearch
