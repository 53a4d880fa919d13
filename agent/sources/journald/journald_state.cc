#include "agent/sources/journald/journald_state.h"

#include "agent/sources/journald/journald_state.pb.h"

namespace logship::agent {

bool JournaldState::Apply(std::string_view delta) {
  journald::v1::JournaldSourceState parsed;
  if (!parsed.ParseFromArray(delta.data(), static_cast<int>(delta.size()))) return false;
  for (const auto& j : parsed.journals()) cursors_[j.key()] = j.cursor();
  return true;
}

std::string JournaldState::Encode() const {
  journald::v1::JournaldSourceState all;
  for (const auto& [key, cursor] : cursors_) {
    auto* j = all.add_journals();
    j->set_key(key);
    j->set_cursor(cursor);
  }
  return all.SerializeAsString();
}

const std::string* JournaldState::Find(const std::string& key) const {
  auto it = cursors_.find(key);
  return it == cursors_.end() ? nullptr : &it->second;
}

void JournaldState::Upgrade(const v1::Checkpoints& legacy, std::string* delta) {
  if (legacy.journals_size() == 0) return;
  journald::v1::JournaldSourceState state;
  *state.mutable_journals() = legacy.journals();
  delta->append(state.SerializeAsString());
}

void JournalPositions::TakeDelta(std::string* out) {
  if (!moved_) return;
  journald::v1::JournaldSourceState delta;
  auto* j = delta.add_journals();
  j->set_key(key_);
  j->set_cursor(cursor_);
  moved_ = false;
  out->append(delta.SerializeAsString());
}

}  // namespace logship::agent
