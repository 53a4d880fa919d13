// The syslog plugin's positions: per source key, the sequence number of the last record in
// the spool. The store's SourceState for type "syslog", and the tracker each source emits
// with (it moves the checkpoint only as batches reach the spool). Loop thread only.
//
// Syslog has no position to re-read from: the sequence is not for resuming but for naming
// records (syslog_identity.h). It continues across restarts so a source's records stay
// numbered in order.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "agent/checkpoint/source_state.h"
#include "agent/sources/source.h"

namespace logship::agent {

class SyslogState final : public SourceState {
 public:
  static constexpr std::string_view kType = "syslog";

  bool Apply(std::string_view delta) override;
  std::string Encode() const override;
  // Forgets the sequences of sources no longer configured (their records' ids never depend
  // on it again: a new source starts with a new nonce).
  void Prune(int64_t now_unix_nano) override;
  void SetActiveSources(const std::set<std::string>& keys) override { active_ = keys; }

  // The last spooled sequence of `key`, 0 when none.
  uint64_t Sequence(const std::string& key) const;

 private:
  std::map<std::string, uint64_t> sequences_;  // key → sequence
  std::set<std::string> active_;               // empty: not told yet (nothing is pruned)
};

class SyslogPositions final : public PositionTracker {
 public:
  explicit SyslogPositions(std::string key) : key_(std::move(key)) {}
  std::string_view type() const override { return SyslogState::kType; }
  // The record about to be emitted has `sequence`: once it is spooled, the source stands there.
  void MovedTo(uint64_t sequence) {
    sequence_ = sequence;
    moved_ = true;
  }
  void TakeDelta(std::string* out) override;

 private:
  const std::string key_;
  uint64_t sequence_ = 0;
  bool moved_ = false;
};

}  // namespace logship::agent
