// The fleet simulator's model: simulated agents, their Ship streams, and what is counted
// (fleet_sim.cc says what the tool does). Thread-safety as stated per type.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "common/zstd_codec.h"
#include "logship/v1/ingest.grpc.pb.h"

namespace fleet_sim {

using Clock = std::chrono::steady_clock;
using logship::v1::BatchAck;
using logship::v1::BatchFrame;

struct Options {
  std::string target = "127.0.0.1:4740";
  int agents = 100;
  double rate = 20;          // lines per second per agent
  double interval_s = 1.0;   // one batch per interval per agent (the agent's linger)
  double seconds = 30;       // sending time
  double warmup_s = 5;       // not measured
  double drain_s = 60;       // after sending: wait this long at most for every ack
  std::string mode = "steady";
  std::string token_file;
  int window = 8;            // unacknowledged frames per agent
  int collector_pid = 0;     // for threads, RSS and CPU
  uint64_t seed = 1;
};

struct Pending {
  std::shared_ptr<BatchFrame> frame;
  uint32_t lines = 0;
  Clock::time_point made;
};

struct Agent;
struct Fleet;


// One Ship stream. Shared: the agent and the scheduler may hold it past OnDone (then it only
// refuses writes); gRPC's reference is self_, dropped in OnDone. A hold keeps OnDone away
// while a StartWrite is being made outside a reaction.
class ShipCall final : public grpc::ClientBidiReactor<BatchFrame, BatchAck> {
 public:
  ShipCall(Fleet* fleet, Agent* agent) : fleet_(fleet), agent_(agent) {}
  void Begin(std::shared_ptr<ShipCall> self, logship::v1::Ingest::Stub* stub, const std::string& token);
  void Enqueue(std::shared_ptr<BatchFrame> frame);  // any thread
  void OnReadInitialMetadataDone(bool ok) override;
  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  void MaybeWrite();
  void Broken();  // the stream can take no more writes
  Fleet* fleet_;
  Agent* agent_;
  std::shared_ptr<ShipCall> self_;
  int starting_ = 0;
  bool hold_released_ = false;
  grpc::ClientContext context_;
  BatchAck ack_;
  std::mutex mu_;
  std::deque<std::shared_ptr<BatchFrame>> queue_;
  std::shared_ptr<BatchFrame> writing_;
  bool broken_ = false;
};

struct Stats {
  std::mutex mu;
  std::vector<double> latencies_ms;  // measured window only
  std::map<std::string, uint64_t> ends;  // stream end statuses
};

struct Agent {
  int index = 0;
  std::string id;
  double rate = 0;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<logship::v1::Ingest::Stub> stub;
  std::mutex mu;
  std::shared_ptr<ShipCall> call;  // the stream, while open
  bool connected = false;    // its initial metadata arrived
  Clock::time_point lost_at{};
  bool lost = false;
  Clock::time_point reopen_at{};
  std::chrono::milliseconds backoff{200};
  std::map<uint64_t, Pending> unacked;  // by sequence
  uint64_t sequence = 0;
  uint64_t offset = 0;
  double carry = 0;  // fractional lines not yet sent
  Clock::time_point next_batch{};
  uint64_t lines_made = 0, lines_acked = 0, lines_acked_in_window = 0, retries = 0;
  double longest_recovery_s = 0;
};

struct Fleet {
  Options opt;
  std::string token;
  std::vector<std::unique_ptr<Agent>> agents;
  Stats stats;
  std::atomic<bool> measuring{false};
  std::atomic<int> connected{0};
  std::atomic<int> max_connected{0};
};



// Lines shaped like a service's access and application logs: varied lengths and fields.
std::vector<std::string> MakeLines(std::mt19937_64& rng);
// A batch of `n` lines at the agent's file position, as the agent would spool it. Holds a.mu.
std::shared_ptr<BatchFrame> MakeFrame(Agent& a, uint32_t n, const std::vector<std::string>& lines,
                                      std::mt19937_64& rng, logship::ZstdCompressor& zstd);
// Opens a new stream for `a` and sends every unacknowledged frame on it. Not under a.mu.
void Open(Fleet& fleet, Agent& a);

}  // namespace fleet_sim
