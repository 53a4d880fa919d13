// A batch as Kafka messages (README "Kafka"). Version 1:
// - key: the agent id (one agent's batches stay in one partition, in order);
// - value: one zstd frame (content size in its header) of a serialized logship.v1.Batch
//   whose records carry their 16-byte ids and the edge collector's pipeline results, and
//   whose agent_id is the agent the edge authenticated;
// - headers: logship-encoding = logship.v1.Batch+zstd, logship-encoding-version = 1.
// A batch whose value would exceed the message limit is split by records into several.
// Version 2 (proto/logship/v1/kafka.proto), when the edge ran no pipeline stage and refused
// no record: the value is a logship.v1.ForwardedFrame, the agent's frame as it arrived plus
// the principal and event-time window the edge used; the indexer decodes it as the edge did.
// Headers: logship-encoding = logship.v1.ForwardedFrame, logship-encoding-version = 2.
// It saves the edge decoding's output from being encoded and compressed again (half its CPU).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "collector/model/decoded_batch.h"
#include "collector/model/received_frame.h"
#include "collector/server/frame_decoder.h"
#include "common/status.h"
#include "common/zstd_codec.h"

namespace logship::collector {

inline constexpr std::string_view kKafkaEncodingHeader = "logship-encoding";
inline constexpr std::string_view kKafkaEncoding = "logship.v1.Batch+zstd";
inline constexpr std::string_view kKafkaVersionHeader = "logship-encoding-version";
inline constexpr std::string_view kKafkaVersion = "1";
inline constexpr std::string_view kKafkaForwardedEncoding = "logship.v1.ForwardedFrame";
inline constexpr std::string_view kKafkaForwardedVersion = "2";
// A value never decodes to more than this (a zstd bomb fails instead).
inline constexpr size_t kKafkaMaxDecodedBytes = 256u << 20;

// The values of `batch`, each at most `max_bytes` unless one record alone is larger.
Status EncodeBatchValues(const DecodedBatch& batch, size_t max_bytes, ZstdCompressor& zstd,
                         std::vector<std::string>* out);
// One value back into a batch (agent_id from the batch). Errors say what is wrong with it.
Status DecodeBatchValue(std::string_view value, ZstdDecompressor& zstd, DecodedBatch* out);

// Version 2: the value forwarding `received`.
std::string EncodeForwardedValue(const ReceivedFrame& received);
// At least the size EncodeForwardedValue gives for a frame of `frame_bytes` (serialized) and
// a principal of `principal_bytes`, whatever the window: known before the frame is decoded.
uint64_t ForwardedValueBound(uint64_t frame_bytes, size_t principal_bytes);
// Limits for decoding a forwarded frame: the edge applied its own; these only bound a value
// that did not come from an edge (as kKafkaMaxDecodedBytes does for version 1).
Limits ForwardedFrameLimits();
// One version 2 value back into a batch, with the window the pipeline must clamp event times
// to. `decoder` is made with ForwardedFrameLimits().
Status DecodeForwardedValue(std::string_view value, FrameDecoder& decoder, DecodedBatch* out,
                            EventTimeWindow* window);

}  // namespace logship::collector
