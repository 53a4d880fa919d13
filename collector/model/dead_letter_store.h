// Where a sink keeps the records a destination refused for good (a mapping error, a
// CHECK constraint…), so one bad record never blocks a stream and nothing is lost
// silently. Implemented by the PostgreSQL sink (<table>_dead_letter) and by a file.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace logship::collector {

struct DeadLetter {
  std::string id;        // record id (UUID text)
  std::string agent_id;
  std::string sink;      // which sink refused it: "elasticsearch", "postgres"
  std::string code;      // e.g. "400 mapper_parsing_exception", a SQLSTATE
  std::string error;     // the destination's reason
  std::string payload;   // the refused document / row, as sent
};

class DeadLetterStore {
 public:
  virtual ~DeadLetterStore() = default;
  // Durable when it returns. How many were kept now: a letter whose record id is kept already
  // (a batch sent twice meets its refused records twice) is not kept again, and a full store
  // counts and drops. Thread-safe.
  virtual Result<size_t> Store(const std::vector<DeadLetter>& letters) = 0;
  virtual std::string Describe() const = 0;  // for logs: "postgres table logs_dead_letter"
};

}  // namespace logship::collector
