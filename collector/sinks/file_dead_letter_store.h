// Dead letters appended as JSON lines to <dir>/<sink>-dead-letter.ndjson and fsynced:
// {"received_at":"…","sink":"…","agent_id":"…","id":"…","code":"…","error":"…","payload":"…"}
// Used when no PostgreSQL sink is configured. Bounded: beyond `max_bytes` new letters are
// counted (dropped()) and logged, not written, so a flood of refused records cannot fill the
// disk. Thread-safe (one lock around the append).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "collector/sinks/dead_letter_store.h"

namespace logship::collector {

class FileDeadLetterStore final : public DeadLetterStore {
 public:
  FileDeadLetterStore(std::string dir, std::string sink, uint64_t max_bytes = 1ull << 30);
  Status Store(const std::vector<DeadLetter>& letters) override;
  std::string Describe() const override { return "file " + path_; }
  uint64_t dropped() const { return dropped_.load(); }

 private:
  const std::string dir_, path_;
  const uint64_t max_bytes_;
  std::mutex mu_;
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace logship::collector
