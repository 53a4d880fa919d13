// Dead letters appended as JSON lines to <dir>/<sink>-dead-letter.ndjson and fsynced:
// {"received_at":"…","sink":"…","agent_id":"…","id":"…","code":"…","error":"…","payload":"…"}
// Used when no PostgreSQL sink is configured. Bounded: beyond `max_bytes` new letters are
// counted (dropped()) and logged, not written, so a flood of refused records cannot fill the
// disk. A record kept recently (the last kRecentIds ids) is not kept again: a batch sent
// twice (a lost ack) meets its refused records twice, like the table's ON CONFLICT DO NOTHING.
// Thread-safe (one lock around the append).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_set>

#include "collector/model/dead_letter_store.h"
#include "common/thread/mutex.h"

namespace logship::collector {

class FileDeadLetterStore final : public DeadLetterStore {
 public:
  static constexpr size_t kRecentIds = 100000;
  FileDeadLetterStore(std::string dir, std::string sink, uint64_t max_bytes = 1ull << 30);
  Result<size_t> Store(const std::vector<DeadLetter>& letters) override;
  std::string Describe() const override { return "file " + path_; }
  uint64_t dropped() const { return dropped_.load(); }

 private:
  const std::string dir_, path_;
  const uint64_t max_bytes_;
  Mutex mu_;
  std::unordered_set<std::string> recent_ GUARDED_BY(mu_);  // ids kept lately
  std::deque<std::string> recent_order_ GUARDED_BY(mu_);  // oldest first, for eviction
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace logship::collector
