#include "agent/sources/syslog/syslog_state.h"

#include "agent/sources/syslog/syslog_state.pb.h"

namespace logship::agent {

bool SyslogState::Apply(std::string_view delta) {
  syslog::v1::SyslogSourceState parsed;
  if (!parsed.ParseFromArray(delta.data(), static_cast<int>(delta.size()))) return false;
  for (const auto& s : parsed.sources()) sequences_[s.key()] = s.sequence();
  return true;
}

std::string SyslogState::Encode() const {
  syslog::v1::SyslogSourceState all;
  for (const auto& [key, sequence] : sequences_) {
    auto* s = all.add_sources();
    s->set_key(key);
    s->set_sequence(sequence);
  }
  return all.SerializeAsString();
}

void SyslogState::Prune(int64_t now_unix_nano) {
  (void)now_unix_nano;
  if (active_.empty()) return;
  std::erase_if(sequences_, [this](const auto& e) { return !active_.count(e.first); });
}

uint64_t SyslogState::Sequence(const std::string& key) const {
  auto it = sequences_.find(key);
  return it == sequences_.end() ? 0 : it->second;
}

void SyslogPositions::TakeDelta(std::string* out) {
  if (!moved_) return;
  syslog::v1::SyslogSourceState delta;
  auto* s = delta.add_sources();
  s->set_key(key_);
  s->set_sequence(sequence_);
  moved_ = false;
  out->append(delta.SerializeAsString());
}

}  // namespace logship::agent
