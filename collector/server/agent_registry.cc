#include "collector/server/agent_registry.h"

#include <algorithm>
#include <chrono>

namespace logship::collector {
namespace {
int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

AgentRegistry::AgentRegistry(std::function<int64_t()> now_ms) : now_ms_(now_ms ? std::move(now_ms) : SystemNowMs) {}

std::string AgentRegistry::VersionFromUserAgent(const std::string& user_agent) {
  static const std::string kPrefix = "logship-agent/";
  const size_t at = user_agent.find(kPrefix);
  if (at == std::string::npos) return "";
  const size_t start = at + kPrefix.size();
  size_t end = start;
  while (end < user_agent.size() && end - start < 32 && user_agent[end] != ' ') ++end;
  return user_agent.substr(start, end - start);
}

AgentRegistry::Entry& AgentRegistry::Get(const std::string& agent_id, int64_t now) {
  auto it = agents_.find(agent_id);
  if (it != agents_.end()) return it->second;
  if (agents_.size() >= kMaxAgents) Evict();
  Entry& e = agents_[agent_id];
  e.info.id = agent_id;
  e.info.first_seen_ms = now;
  return e;
}

void AgentRegistry::Evict() {
  auto victim = agents_.end();
  for (auto it = agents_.begin(); it != agents_.end(); ++it) {
    if (it->second.info.streams > 0) continue;
    if (victim == agents_.end() || it->second.info.last_batch_ms < victim->second.info.last_batch_ms) victim = it;
  }
  if (victim != agents_.end()) agents_.erase(victim);
}

void AgentRegistry::StreamOpened(const std::string& agent_id, const std::string& peer, const std::string& version) {
  const int64_t now = now_ms_();
  MutexLock lock(mu_);
  Entry& e = Get(agent_id, now);
  ++e.info.streams;
  e.info.peer = peer.substr(0, 128);
  if (!version.empty()) e.info.version = version;
}

void AgentRegistry::StreamClosed(const std::string& agent_id) {
  MutexLock lock(mu_);
  auto it = agents_.find(agent_id);
  if (it != agents_.end() && it->second.info.streams > 0) --it->second.info.streams;
}

void AgentRegistry::BatchReceived(const std::string& agent_id, const std::string& host, uint64_t records,
                                  uint64_t bytes) {
  const int64_t now = now_ms_();
  MutexLock lock(mu_);
  Entry& e = Get(agent_id, now);
  if (!host.empty() && host != e.info.host) e.info.host = host.substr(0, 256);
  e.info.last_batch_ms = now;
  e.info.records_total += records;
  e.info.bytes_total += bytes;
  const int64_t start = (now / 1000) / kBucketSeconds * kBucketSeconds;
  const size_t slot = static_cast<size_t>((start / kBucketSeconds) % kBuckets);
  if (e.bucket_start[slot] != start) {
    e.bucket_start[slot] = start;
    e.records[slot] = 0;
    e.bytes[slot] = 0;
  }
  e.records[slot] += records;
  e.bytes[slot] += bytes;
}

std::vector<AgentInfo> AgentRegistry::Snapshot() const {
  const int64_t now = now_ms_();
  const int64_t now_s = now / 1000;
  std::vector<AgentInfo> out;
  MutexLock lock(mu_);
  out.reserve(agents_.size());
  for (const auto& [id, e] : agents_) {
    AgentInfo info = e.info;
    uint64_t records = 0, bytes = 0;
    for (int i = 0; i < kBuckets; ++i)
      if (e.bucket_start[i] != 0 && e.bucket_start[i] > now_s - kRateWindowSeconds) {
        records += e.records[i];
        bytes += e.bytes[i];
      }
    // Over the window, or since first seen when that is shorter (at least one bucket).
    const double span = std::clamp<double>(static_cast<double>(now - e.info.first_seen_ms) / 1000.0,
                                           kBucketSeconds, kRateWindowSeconds);
    info.records_per_second = static_cast<double>(records) / span;
    info.bytes_per_second = static_cast<double>(bytes) / span;
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace logship::collector
