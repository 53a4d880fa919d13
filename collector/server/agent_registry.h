// Who ships to this collector: every agent seen since start, whether a stream of it is
// open now, when its last batch arrived, and its rates over the last five minutes. Fed by
// the ingest path (IngestService::Ship), read by the console (/api/v1/agents).
//
// Thread-safe: one mutex, held for a map update per batch (never across I/O).
// Bounded: at most kMaxAgents entries; beyond that the agent idle longest is forgotten.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/thread/mutex.h"

namespace logship::collector {

struct AgentInfo {
  std::string id;
  std::string host;
  std::string version;      // from the agent's gRPC user-agent ("logship-agent/X"); "" if unknown
  std::string peer;         // address of the newest stream
  int64_t first_seen_ms = 0;
  int64_t last_batch_ms = 0;  // Unix milliseconds
  int streams = 0;            // open Ship streams now; > 0 means connected
  uint64_t records_total = 0;
  uint64_t bytes_total = 0;   // uncompressed batch bytes
  double records_per_second = 0;  // over the last kRateWindowSeconds (or since first seen)
  double bytes_per_second = 0;
};

class AgentRegistry {
 public:
  static constexpr size_t kMaxAgents = 10000;
  static constexpr int kBucketSeconds = 10;
  static constexpr int kBuckets = 30;  // 5 minutes
  static constexpr int kRateWindowSeconds = kBucketSeconds * kBuckets;

  // `now_ms` gives Unix milliseconds (a fake clock in tests).
  explicit AgentRegistry(std::function<int64_t()> now_ms = nullptr);
  AgentRegistry(const AgentRegistry&) = delete;
  AgentRegistry& operator=(const AgentRegistry&) = delete;

  void StreamOpened(const std::string& agent_id, const std::string& peer, const std::string& version);
  void StreamClosed(const std::string& agent_id);
  void BatchReceived(const std::string& agent_id, const std::string& host, uint64_t records, uint64_t bytes);

  // Every agent, ordered by id.
  std::vector<AgentInfo> Snapshot() const;

  // "logship-agent/0.1.0 grpc-c++/1.51.1 (linux; chttp2)" → "0.1.0"; else "".
  static std::string VersionFromUserAgent(const std::string& user_agent);

 private:
  struct Entry {
    AgentInfo info;
    std::array<int64_t, kBuckets> bucket_start{};  // second the bucket covers from; 0 = unused
    std::array<uint64_t, kBuckets> records{};
    std::array<uint64_t, kBuckets> bytes{};
  };
  Entry& Get(const std::string& agent_id, int64_t now) REQUIRES(mu_);
  void Evict() REQUIRES(mu_);

  const std::function<int64_t()> now_ms_;
  mutable Mutex mu_;
  std::map<std::string, Entry> agents_ GUARDED_BY(mu_);
};

}  // namespace logship::collector
