// Dead letters appended as JSON lines to <dir>/<sink>-dead-letter.ndjson and fsynced:
// {"received_at":"…","sink":"…","agent_id":"…","id":"…","code":"…","error":"…","payload":"…"}
// Used when no PostgreSQL sink is configured. Thread-safe (one lock around the append).
#pragma once

#include <mutex>
#include <string>

#include "collector/sinks/dead_letter_store.h"

namespace logship::collector {

class FileDeadLetterStore final : public DeadLetterStore {
 public:
  FileDeadLetterStore(std::string dir, std::string sink);
  Status Store(const std::vector<DeadLetter>& letters) override;
  std::string Describe() const override { return "file " + path_; }

 private:
  const std::string dir_, path_;
  std::mutex mu_;
};

}  // namespace logship::collector
