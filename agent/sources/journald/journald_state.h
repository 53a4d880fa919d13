// The journald plugin's positions: per source key, the cursor of the last entry in the
// spool. The store's SourceState for type "journald", and the tracker each source emits with.
// Loop thread only.
#pragma once

#include <map>
#include <string>

#include "agent/checkpoint/source_state.h"
#include "agent/sources/source.h"

namespace logship::agent {

class JournaldState final : public SourceState {
 public:
  static constexpr std::string_view kType = "journald";

  bool Apply(std::string_view delta) override;
  std::string Encode() const override;
  // The cursor a source stopped at, or nullptr.
  const std::string* Find(const std::string& key) const;

  // Checkpoints.journals of a checkpoint written before plugin states: as a delta.
  static void Upgrade(const v1::Checkpoints& legacy, std::string* delta);

 private:
  std::map<std::string, std::string> cursors_;  // key → cursor
};

class JournalPositions final : public PositionTracker {
 public:
  explicit JournalPositions(std::string key) : key_(std::move(key)) {}
  std::string_view type() const override { return JournaldState::kType; }
  // The entry about to be emitted: once it is spooled, the source stands there.
  void MovedTo(const char* cursor) {
    cursor_.assign(cursor);
    moved_ = true;
  }
  void TakeDelta(std::string* out) override;

 private:
  const std::string key_;
  std::string cursor_;
  bool moved_ = false;
};

}  // namespace logship::agent
