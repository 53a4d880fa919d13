// zstd compression of batch payloads with reused contexts (one per owner; not thread-safe:
// each thread keeps its own instance).
#pragma once

#include <zstd.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace logship {

class ZstdCompressor {
 public:
  explicit ZstdCompressor(int level);
  ZstdCompressor(const ZstdCompressor&) = delete;
  ZstdCompressor& operator=(const ZstdCompressor&) = delete;

  // Replaces *out with the compressed frame (content size recorded in the frame header).
  Status Compress(std::string_view in, std::string* out);

  // Inputs up to about this size are compressed into a buffer the compressor keeps (so one
  // instance holds up to 2 MiB beyond its zstd context); larger ones straight into *out.
  static constexpr size_t kKeptBufferMaxBytes = 2u << 20;

 private:
  struct Free { void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); } };
  std::unique_ptr<ZSTD_CCtx, Free> ctx_;
  int level_;
  // Never zero-filled: only the pages zstd has written to are resident (about the largest
  // frame, not the worst-case bound).
  std::unique_ptr<char[]> kept_;
  size_t kept_size_ = 0;
};

class ZstdDecompressor {
 public:
  ZstdDecompressor();
  ZstdDecompressor(const ZstdDecompressor&) = delete;
  ZstdDecompressor& operator=(const ZstdDecompressor&) = delete;

  // Decompresses one frame whose content must be exactly `declared_size` bytes, and
  // `declared_size` must be <= `max_size`. Memory is bounded by declared_size: a frame that
  // expands further (a zstd bomb) fails instead of allocating.
  Status Decompress(std::string_view in, size_t declared_size, size_t max_size, std::string* out);
  // The same into a buffer of declared_size bytes that is never zero-filled first (that fill
  // was 3.6% of the collector's instructions).
  Status Decompress(std::string_view in, size_t declared_size, size_t max_size, std::unique_ptr<char[]>* out);

 private:
  // The checks before any allocation.
  static Status Check(std::string_view in, size_t declared_size, size_t max_size);
  Status Into(std::string_view in, size_t declared_size, char* out);
  struct Free { void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); } };
  std::unique_ptr<ZSTD_DCtx, Free> ctx_;
};

}  // namespace logship
