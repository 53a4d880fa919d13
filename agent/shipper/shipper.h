// Streams spooled frames to the collector over one bidirectional Ingest.Ship stream.
//
// Threads: Start() spawns the shipper thread, which owns the stream and writes frames;
// for each stream a reader thread receives acks. Stop() may be called from any thread
// and returns once both have exited. The spool must outlive the shipper.
//
// A window of max_in_flight unacknowledged frames is kept on the stream; acks may arrive
// in any order. When the stream breaks (collector gone, RETRY ack) every unacknowledged
// frame is sent again on the next stream, after a backoff, to the next endpoint in turn.
// Re-sending is safe: sinks de-duplicate by record id.
//
// Limits: the collector announces its frame limits at stream start; a spooled frame over
// them is sent as parts (frame_splitter.h), and a record that fits no frame is set aside in
// dead-letter/. A collector that refuses a frame with RESOURCE_EXHAUSTED without naming it
// (gRPC's own message limit, an older collector) makes the shipper halve the frame size it
// assumes, so no frame is ever re-sent forever.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/shipper/frame_splitter.h"
#include "agent/shipper/shipper_config.h"
#include "agent/spool/spool.h"
#include "common/status.h"
#include "logship/v1/ingest.grpc.pb.h"
#include "common/thread/mutex.h"

namespace logship::agent {

// TLS (or mTLS) channel credentials from the config's files; insecure when tls is unset.
Result<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(const CollectorClientConfig& config);

class Shipper {
 public:
  // `credentials` secure every channel (TLS) or not (insecure); see MakeChannelCredentials.
  Shipper(const CollectorClientConfig& config, std::string agent_id, std::string token, spool::Spool& spool,
          std::string dead_letter_dir, std::shared_ptr<grpc::ChannelCredentials> credentials, int zstd_level = 1);
  ~Shipper();

  void Start();
  void Stop();
  // Blocks until every spooled frame is acknowledged or `timeout` passes. True if drained.
  bool WaitDrained(std::chrono::milliseconds timeout);

  uint64_t batches_sent() const { return batches_sent_.load(); }
  uint64_t batches_acked() const { return batches_acked_.load(); }
  uint64_t batches_retried() const { return batches_retried_.load(); }
  uint64_t batches_dead_lettered() const { return batches_dead_lettered_.load(); }
  uint64_t bytes_sent() const { return bytes_sent_.load(); }
  uint64_t frames_split() const { return frames_split_.load(); }
  uint64_t records_dead_lettered() const { return records_dead_lettered_.load(); }

 private:
  enum class StreamEnd { kStopped, kFailed, kAcksFlowed };
  using Stream = grpc::ClientReaderWriter<logship::v1::BatchFrame, logship::v1::BatchAck>;
  struct StreamState;
  // One frame (or part) to write, besides its payload.
  struct OutFrame {
    uint64_t sequence = 0;
    uint8_t codec = 0;
    uint32_t records = 0;
    uint64_t uncompressed = 0;
    uint32_t part = 0, parts = 0;
  };
  void Run();
  // One Ship stream to `endpoint`: this thread sends, a companion reads acks.
  StreamEnd RunStream(size_t endpoint);
  void ReadAcks(Stream& stream, grpc::ClientContext& ctx, StreamState& st);
  // Waits for room in the window of frames in flight; false when the stream is over.
  bool WaitWindow(StreamState& st);
  bool Send(Stream& stream, StreamState& st, const OutFrame& out, std::string payload);
  // Spooled frames in order, until the stream breaks or the shipper stops.
  void SendFrames(Stream& stream, StreamState& st);
  // One spooled frame, whole or split to the collector's limits; false when the stream is over.
  bool SendSpooled(Stream& stream, StreamState& st, spool::SpooledFrame frame, FrameSplitter& splitter);
  // Says why the stream ended; sets aside a frame the collector named as one it can never take.
  void EndStream(grpc::ClientContext& ctx, const grpc::Status& status, const StreamState& state,
                 const std::string& name);
  // Copies the frame to dead_letter_dir; true when it is safely there (then it may be acked).
  bool DeadLetter(uint64_t sequence, const std::string& reason);
  // Keeps one record that fits no frame (a serialized one-record Batch) as
  // dead_letter_dir/<sequence>.<index>.zst; true when it is safely there.
  bool DeadLetterRecord(uint64_t sequence, size_t index, const std::string& batch, const std::string& reason);

  const CollectorClientConfig config_;
  const std::string agent_id_;
  const std::string token_;
  spool::Spool& spool_;
  const std::string dead_letter_dir_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;

  std::thread thread_;
  std::atomic<bool> stopping_{false};
  Mutex ctx_mu_;
  grpc::ClientContext* active_ctx_ GUARDED_BY(ctx_mu_) = nullptr;
  Mutex sleep_mu_;
  CondVar sleep_cv_;

  std::atomic<uint64_t> batches_sent_{0}, batches_acked_{0}, batches_retried_{0}, batches_dead_lettered_{0}, bytes_sent_{0};
  std::atomic<uint64_t> frames_split_{0}, records_dead_lettered_{0};
  // Shipper thread only: a frame size learnt from an unnamed RESOURCE_EXHAUSTED (0: none).
  uint64_t assumed_max_frame_ = 0;
  int zstd_level_ = 1;
};

}  // namespace logship::agent
