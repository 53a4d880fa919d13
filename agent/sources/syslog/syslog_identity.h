// Record ids of a syslog source. Syslog carries no position a record could be named by, so
// each record gets the next number of a per-source sequence, and
//   id = XXH3-128("logship.syslog.v1", agent_id, source key, nonce, sequence)
// where the nonce is 16 random bytes drawn when the source is created (each run, each reload).
//
// The id travels in the spooled batch, so a re-send of a spooled frame (a lost ack, a restart)
// carries the same ids and the sinks drop the copy. The sequence is durable (SyslogState,
// moved as batches are spooled) and continues across restarts; the nonce is what makes ids of
// different runs distinct even when the sequence is rewound (a power cut under
// `spool.fsync: never` can lose the checkpoint and the spool tail, after the collector stored
// frames of that tail).
//
// Loop thread only.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/record_id.h"

namespace logship::agent::syslog {

using Nonce = std::array<uint8_t, 16>;

class SyslogIdentity {
 public:
  // `last_sequence`: the last sequence the spool holds for this source (0: none).
  SyslogIdentity(std::string_view agent_id, std::string_view key, uint64_t last_sequence);
  // For tests: a given nonce.
  SyslogIdentity(std::string_view agent_id, std::string_view key, uint64_t last_sequence, const Nonce& nonce);

  // The next record's sequence and id.
  uint64_t Next(RecordId* id);
  uint64_t last_sequence() const { return sequence_; }
  const Nonce& nonce() const { return nonce_; }

  // 16 bytes from getrandom(2); if the kernel's pool is not ready (early boot), a hash of the
  // clocks, pid and boot id instead (*strong false): unique per run all the same.
  static Nonce RandomNonce(bool* strong);

 private:
  std::string prefix_;  // the hash key up to the sequence
  Nonce nonce_;
  uint64_t sequence_;
};

}  // namespace logship::agent::syslog
