// The server's part of collector.yaml: limits on what clients may send, TLS, and tokens.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "collector/model/record_time.h"
#include "common/config/tls_files.h"

namespace logship::collector {

struct Limits {
  uint64_t max_frame_bytes = 16ull << 20;         // compressed payload per frame
  uint64_t max_uncompressed_bytes = 64ull << 20;  // per batch, after decompression
  uint32_t max_records = 100000;                  // per batch
  uint32_t max_attributes = 256;                  // per record (and per source)
  uint64_t max_attribute_bytes = 64 << 10;        // key + value
  uint64_t max_inflight_bytes = 256ull << 20;     // all streams together; reading stops beyond
  uint64_t stream_window_bytes = 1ull << 20;      // HTTP/2 receive window per stream (fixed, no BDP growth)
  uint64_t max_otlp_request_bytes = 8ull << 20;   // one OTLP Export request
  uint32_t stream_frames_in_flight = 8;           // frames one stream may hold (decoding, writing)
  // Frames of one stream written to the sinks at once (≤ stream_frames_in_flight), started in
  // order; their commits and acks may complete out of order (record ids keep it exactly once).
  // More than one keeps a sink that waits on a round trip (PostgreSQL's writer connections,
  // Kafka, a search engine) busy from one agent's stream. 1: written one after another.
  uint32_t stream_writes_in_flight = 4;
  // The server pings a connection quiet for keepalive_time and drops it when no answer comes
  // within keepalive_timeout: a dead peer's streams are reaped instead of held for hours.
  std::chrono::milliseconds keepalive_time{std::chrono::seconds(60)};
  std::chrono::milliseconds keepalive_timeout{std::chrono::seconds(20)};
  // Event times (from log content) are clamped to this window around the observed time.
  std::chrono::nanoseconds event_time_max_past{std::chrono::hours(24 * 7)};
  std::chrono::nanoseconds event_time_max_future{std::chrono::hours(1)};
  EventTimeWindow time_window() const { return {event_time_max_past.count(), event_time_max_future.count()}; }
};

using ServerTlsConfig = ServerTlsFiles;

struct AgentToken {
  std::string agent;       // "*": a fleet token, good for any agent id (ids bound to the claimed one)
  std::string token_file;
};

}  // namespace logship::collector
