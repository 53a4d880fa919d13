// Fits a spooled frame to the collector's limits (announced in the Ship stream's initial
// metadata, or learnt from a refusal): a batch too large for them travels as several parts,
// each a complete Batch of its own (BatchFrame.part / parts), instead of being re-sent
// forever. Not thread-safe (owns zstd contexts): one per shipper thread.
//
// A part keeps the compact form (proto/logship/v1/record.proto): offsets and observed times
// are re-based per part, so the collector derives exactly the ids the whole batch would
// have had. A single record that cannot fit any frame is handed back on its own ("unfit"),
// for the caller to set aside; every other record still goes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "agent/spool/spool.h"
#include "common/status.h"
#include "common/zstd_codec.h"
#include "logship/v1/record.pb.h"

namespace logship::agent {

// 0 = not known.
struct WireLimits {
  uint64_t max_frame_bytes = 0;         // compressed payload
  uint64_t max_uncompressed_bytes = 0;  // serialized Batch
  uint64_t max_records = 0;
};

// A frame to send: zstd payload of one Batch.
struct WirePart {
  std::string payload;
  uint32_t record_count = 0;
  uint64_t uncompressed_bytes = 0;
};

struct SplitFrame {
  std::vector<WirePart> parts;           // in record order
  std::vector<std::string> unfit;        // serialized one-record Batches that fit no frame
};

class FrameSplitter {
 public:
  explicit FrameSplitter(int zstd_level) : compressor_(zstd_level) {}

  // True when `frame` can go whole.
  static bool Fits(const spool::SpooledFrame& frame, const WireLimits& limits);
  // Splits `frame` into parts that each fit `limits`. Corruption when the payload cannot be
  // decoded (a damaged spool frame: the caller dead-letters it whole).
  Result<SplitFrame> Split(const spool::SpooledFrame& frame, const WireLimits& limits);

 private:
  // Compresses `batch` into parts (halving the records while a part is too large).
  void Emit(const logship::v1::Batch& batch, const WireLimits& limits, SplitFrame* out);

  ZstdCompressor compressor_;
  ZstdDecompressor decompressor_;
};

// The records of `batch` in the full form: every observed time and (for sources with a file
// identity) the absolute offset, so any subset can be re-compacted. Exposed for tests.
struct ResolvedRecord {
  uint64_t offset = 0;    // file records only
  uint64_t observed = 0;
};
std::vector<ResolvedRecord> ResolveOffsets(const logship::v1::Batch& batch);
// A Batch holding records [begin, end) of `batch` in the compact form.
logship::v1::Batch Slice(const logship::v1::Batch& batch, const std::vector<ResolvedRecord>& resolved, int begin,
                         int end);

}  // namespace logship::agent
