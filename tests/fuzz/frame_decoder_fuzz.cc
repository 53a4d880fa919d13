// Fuzzes the collector's frame decoder with arbitrary BatchFrames (including zstd
// payloads): limits must hold before allocation and nothing may crash. A frame-only edge
// (no ids derived) must accept and refuse exactly what a full decode does.
#include <cstdint>
#include <string>

#include "collector/server/frame_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  logship::collector::Limits limits;
  limits.max_frame_bytes = 1 << 20;
  limits.max_uncompressed_bytes = 4 << 20;
  limits.max_records = 10000;
  limits.max_attributes = 64;
  static logship::collector::FrameDecoder* decoder = new logship::collector::FrameDecoder(limits);
  logship::v1::BatchFrame frame;
  if (!frame.ParseFromArray(data, static_cast<int>(size))) {
    // Not a frame: use the bytes as a zstd payload with sizes from the first bytes.
    frame.set_agent_id("fuzz");
    frame.set_sequence(1);
    frame.set_codec(size % 2 ? logship::v1::CODEC_ZSTD : logship::v1::CODEC_NONE);
    frame.set_uncompressed_bytes(size > 4 ? (data[0] | data[1] << 8 | data[2] << 16) : size);
    frame.set_record_count(size > 4 ? data[3] : 0);
    frame.set_payload(data, size);
  }
  logship::v1::Batch batch, checked;
  std::vector<logship::collector::RefusedRecord> refused, refused_checked;
  const logship::Status full = decoder->Decode(frame, &batch, &refused);
  const logship::Status only = decoder->Decode(frame, &checked, &refused_checked, {}, /*derive_ids=*/false);
  if (full.ToString() != only.ToString() || refused.size() != refused_checked.size() ||
      batch.records_size() != checked.records_size())
    __builtin_trap();
  return 0;
}
