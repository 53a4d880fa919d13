#include "agent/checkpoint/checkpoint_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "common/clock.h"
#include "common/file_util.h"

namespace logship::agent {
namespace {
constexpr size_t kMinReserve = 64 << 10;

bool Legacy(const v1::Checkpoints& c) { return c.files_size() > 0 || c.journals_size() > 0; }
}  // namespace

Status CheckpointStore::Load() {
  auto text = ReadWholeFile(path_);
  if (!text.ok() && text.status().code() == Status::Code::kNotFound) {
    EnsureReserve(kMinReserve);
    return Status::Ok();
  }
  if (!text.ok()) return text.status();
  v1::Checkpoints all;
  if (!all.ParseFromString(*text)) return Status::Corruption("cannot parse checkpoint file " + path_);
  spool_sequence_ = all.spool_sequence();
  // A file from before this field existed: the data_dir was used, so `start_at` is over;
  // count journal sources without a cursor from now on (the upgrade) rather than from the
  // journal's oldest entry.
  initialized_unix_nano_ = all.initialized_unix_nano() != 0 ? all.initialized_unix_nano() : UnixNanosNow();
  Status s = Apply(all);
  if (!s.ok()) return Status::Corruption("checkpoint file " + path_ + ": " + s.message());
  EnsureReserve(std::max(kMinReserve, 2 * text->size()));
  return Status::Ok();
}

SourceState* CheckpointStore::State(std::string_view type) {
  if (auto it = states_.find(type); it != states_.end()) return it->second.get();
  std::unique_ptr<SourceState> created = types_.create ? types_.create(type) : nullptr;
  if (!created) return nullptr;
  created->SetActiveSources(active_);
  SourceState* state = created.get();
  states_.emplace(std::string(type), std::move(created));
  // Bytes read before the type was first asked for (the file, recovered frames).
  if (auto raw = unknown_.find(type); raw != unknown_.end()) {
    state->Apply(raw->second);
    unknown_.erase(raw);
  }
  return state;
}

Status CheckpointStore::ApplyState(std::string_view type, std::string_view delta) {
  if (SourceState* state = State(type)) {
    if (!state->Apply(delta)) return Status::Corruption("unreadable positions of source type " + std::string(type));
    return Status::Ok();
  }
  unknown_[std::string(type)].append(delta);  // protobuf: concatenated deltas merge
  return Status::Ok();
}

Status CheckpointStore::MergeStates(const v1::Checkpoints& delta) {
  Status result = Status::Ok();
  // A map field has no order; deltas of different types are independent.
  for (const auto& [type, bytes] : delta.states()) {
    if (Status s = ApplyState(type, bytes); !s.ok()) result = s;
  }
  return result;
}

Status CheckpointStore::Apply(const v1::Checkpoints& delta) {
  if (Legacy(delta) && types_.upgrade) {
    v1::Checkpoints upgraded;
    types_.upgrade(delta, &upgraded);
    if (Status s = MergeStates(upgraded); !s.ok()) return s;
  }
  return MergeStates(delta);
}

void CheckpointStore::SetActiveSources(std::set<std::string> keys) {
  active_ = std::move(keys);
  for (auto& [type, state] : states_) state->SetActiveSources(active_);
}

Status CheckpointStore::Save(uint64_t spool_sequence, bool sync) {
  const int64_t now = UnixNanosNow();
  v1::Checkpoints all;
  all.set_spool_sequence(spool_sequence);
  all.set_initialized_unix_nano(initialized_unix_nano_);
  auto& out = *all.mutable_states();
  for (auto& [type, state] : states_) {
    state->Prune(now);
    out[type] = state->Encode();
  }
  for (const auto& [type, bytes] : unknown_) out[type] = bytes;
  const std::string text = all.SerializeAsString();
  Status s = WriteFileAtomically(path_, text, sync);
  if (!s.ok() && reserve_bytes_ > 0) {
    // Probably a full disk: spend the ballast so this save, and the segment deletions it
    // allows, can go through.
    ::unlink(reserve_path_.c_str());
    reserve_bytes_ = 0;
    s = WriteFileAtomically(path_, text, sync);
  }
  if (!s.ok()) return s;
  spool_sequence_ = spool_sequence;
  EnsureReserve(std::max(kMinReserve, 2 * text.size()));
  return s;
}

void CheckpointStore::EnsureReserve(size_t bytes) {
  if (reserve_bytes_ >= bytes) return;
  UniqueFd fd(::open(reserve_path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0640));
  if (!fd.valid()) return;
  if (::posix_fallocate(fd.get(), 0, static_cast<off_t>(bytes)) == 0) reserve_bytes_ = bytes;
}

}  // namespace logship::agent
