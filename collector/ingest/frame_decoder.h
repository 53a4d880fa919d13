// Turns a BatchFrame from the wire into a Batch, checking every limit before allocating
// (frame size, declared uncompressed size, record count) and the batch's internal
// consistency. Not thread-safe (owns a zstd context): one decoder per stream.
#pragma once

#include "collector/collector_config.h"
#include "common/status.h"
#include "common/zstd_codec.h"
#include "logship/v1/ingest.pb.h"
#include "logship/v1/record.pb.h"

namespace logship::collector {

class FrameDecoder {
 public:
  explicit FrameDecoder(const Limits& limits) : limits_(limits) {}

  // InvalidArgument or ResourceExhausted (with a reason fit for the sender) on bad input.
  Status Decode(const logship::v1::BatchFrame& frame, logship::v1::Batch* out);

 private:
  const Limits limits_;
  ZstdDecompressor zstd_;
  std::string buffer_;
};

}  // namespace logship::collector
