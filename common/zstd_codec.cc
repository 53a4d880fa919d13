#include "common/zstd_codec.h"

#include <zstd_errors.h>

namespace logship {

ZstdCompressor::ZstdCompressor(int level) : ctx_(ZSTD_createCCtx()), level_(level) {}

Status ZstdCompressor::Compress(std::string_view in, std::string* out) {
  const size_t bound = ZSTD_compressBound(in.size());
  // A fresh output string is zero-filled to the worst case and faulted in on every call
  // (3% of the agent's instructions); the kept buffer is allocated once, never filled, and
  // only the frame is copied out.
  const bool keep = bound <= kKeptBufferMaxBytes;
  if (keep && kept_size_ < bound) {
    kept_ = std::make_unique_for_overwrite<char[]>(bound);
    kept_size_ = bound;
  }
  if (!keep) out->resize(bound);
  char* dst = keep ? kept_.get() : out->data();
  const size_t n = ZSTD_compressCCtx(ctx_.get(), dst, keep ? kept_size_ : bound, in.data(), in.size(), level_);
  if (ZSTD_isError(n)) return Status::InvalidArgument(std::string("zstd: ") + ZSTD_getErrorName(n));
  if (keep) out->assign(dst, n);
  else out->resize(n);
  return Status::Ok();
}

ZstdDecompressor::ZstdDecompressor() : ctx_(ZSTD_createDCtx()) {}

Status ZstdDecompressor::Check(std::string_view in, size_t declared_size, size_t max_size) {
  if (declared_size > max_size)
    return Status::ResourceExhausted("declared uncompressed size " + std::to_string(declared_size) +
                                     " exceeds the limit of " + std::to_string(max_size));
  const unsigned long long content = ZSTD_getFrameContentSize(in.data(), in.size());
  if (content == ZSTD_CONTENTSIZE_ERROR) return Status::InvalidArgument("payload is not a zstd frame");
  if (content != ZSTD_CONTENTSIZE_UNKNOWN && content != declared_size)
    return Status::InvalidArgument("zstd frame holds " + std::to_string(content) + " bytes but the frame declared " +
                                   std::to_string(declared_size));
  return Status::Ok();
}

Status ZstdDecompressor::Into(std::string_view in, size_t declared_size, char* out) {
  const size_t n = ZSTD_decompressDCtx(ctx_.get(), out, declared_size, in.data(), in.size());
  if (ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall)  // stopped at the declared size: a bomb, or a lie
    return Status::InvalidArgument("payload decompresses to more than the " + std::to_string(declared_size) +
                                   " bytes the frame declared");
  if (ZSTD_isError(n)) return Status::InvalidArgument(std::string("zstd: ") + ZSTD_getErrorName(n));
  if (n != declared_size)
    return Status::InvalidArgument("payload decompressed to " + std::to_string(n) + " bytes, declared " +
                                   std::to_string(declared_size));
  return Status::Ok();
}

Status ZstdDecompressor::Decompress(std::string_view in, size_t declared_size, size_t max_size, std::string* out) {
  if (Status s = Check(in, declared_size, max_size); !s.ok()) return s;
  out->resize(declared_size);
  return Into(in, declared_size, out->data());
}

Status ZstdDecompressor::Decompress(std::string_view in, size_t declared_size, size_t max_size,
                                    std::unique_ptr<char[]>* out) {
  if (Status s = Check(in, declared_size, max_size); !s.ok()) return s;
  *out = std::make_unique_for_overwrite<char[]>(declared_size);
  return Into(in, declared_size, out->get());  // on failure the caller never reads *out
}

}  // namespace logship
