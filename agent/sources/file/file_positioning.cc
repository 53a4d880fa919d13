// Where reading of a file starts: its checkpoint, start_at at the first start, or 0; and the
// positions that move without a record.
#include <sys/stat.h>

#include "agent/sources/file/file_paths.h"
#include "agent/sources/file/file_source.h"
#include "agent/sources/file/file_state.pb.h"
#include "common/clock.h"
#include "common/log.h"

namespace logship::agent {
namespace {

constexpr std::string_view kComponent = "file-source";

// A checkpoint saved for a file before it could be identified: nothing was read before offset 0.
bool IsPlaceholder(const v1::FileCheckpoint& cp) { return cp.fingerprint() == 0 && cp.offset() == 0; }

}  // namespace

void FileSource::Position(Tracked& t) {
  if (t.positioned) return;
  FileTailer& f = *t.tailer;
  if (!f.Identify()) {
    if (!t.placeholder_saved && !t.restart_at_zero && !state_.Find(key_, f.device(), f.inode())) {
      t.placeholder_saved = true;
      RecordPosition(f, 0, {}, 0, /*first_sight=*/true);
    }
    return;
  }
  t.positioned = true;
  const std::string gen = f.generation() > 0 ? " (generation " + std::to_string(f.generation()) + ")" : "";
  if (t.restart_at_zero) {
    t.restart_at_zero = false;
    f.SeekTo(0);
    return;
  }
  if (const auto* cp = state_.Find(key_, f.device(), f.inode())) {
    if (cp->released_unix_nano() == 0 && IsPlaceholder(*cp)) {
      f.set_generation(cp->generation());
      f.SeekTo(0);
      LogInfo(kComponent, "reading " + f.path() + " from its start" + gen);
      return;
    }
    if (cp->released_unix_nano() == 0 && cp->fingerprint() == f.fingerprint()) {
      struct stat st {};
      const uint64_t size = ::fstat(f.fd(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
      f.set_generation(cp->generation());
      if (size >= cp->offset() && (cp->tail().empty() || f.TailAt(cp->offset(), cp->tail().size()) == cp->tail())) {
        f.SeekTo(cp->offset(), cp->tail());
        LogInfo(kComponent, "resuming " + f.path() + " at byte " + std::to_string(cp->offset()));
        return;
      }
    }
    // Released and its inode reused by a new file, or truncated or rewritten while the agent
    // was away: a new generation, so its records never take the old content's ids.
    f.set_generation(cp->generation() + 1);
    f.SeekTo(0);
    LogInfo(kComponent, "reading " + f.path() + " from its start: it is not the content last read there (generation " +
                            std::to_string(f.generation()) + ")");
    return;
  }
  if (t.history_end) {
    const uint64_t offset = *t.history_end;
    t.history_end.reset();
    std::string tail = f.TailAt(offset);
    f.SeekTo(offset, tail);
    RecordPosition(f, offset, std::move(tail), 0, /*first_sight=*/true);  // nor may a restart ship it
    LogInfo(kComponent, "tailing " + f.path() + " from its end (start_at: end; skipping " + std::to_string(offset) +
                            " bytes of history)");
    return;
  }
  f.SeekTo(0);
  RecordPosition(f, 0, {}, 0, /*first_sight=*/true);
  LogInfo(kComponent, "reading " + f.path() + " from its start" + gen);
}

void FileSource::RecordPosition(const FileTailer& f, uint64_t offset, std::string tail, int64_t released_unix_nano,
                                bool first_sight) {
  v1::FileCheckpoint cp;
  cp.set_path(f.path());
  cp.set_source(key_);
  cp.set_device(f.device());
  cp.set_inode(f.inode());
  cp.set_fingerprint(f.fingerprint());
  cp.set_generation(f.generation());
  cp.set_offset(offset);
  cp.set_tail(std::move(tail));
  cp.set_released_unix_nano(released_unix_nano);
  if (first_sight) {
    file::v1::FileSourceState delta;
    *delta.add_files() = std::move(cp);
    emitter_->ApplyNow(FileState::kType, delta.SerializeAsString());
    return;
  }
  positions_.Set(std::move(cp));
  emitter_->PositionsMoved(positions_);
}

void FileSource::RecoverRotated() {
  std::vector<v1::FileCheckpoint> missing;
  state_.ForEach(key_, [&](const v1::FileCheckpoint& cp) {
    // An orphan (its source renamed) is ours when its path is one of our patterns'.
    if (cp.source() != key_ && !Matches(cp.path())) return;
    if (!files_.count({cp.device(), cp.inode()})) missing.push_back(cp);
  });
  for (const auto& cp : missing) {
    const std::string found = FindByInode(DirName(cp.path()), cp.device(), cp.inode());
    if (found.empty()) {
      // Deleted while the agent was down: nothing more can be read. Keep a tombstone.
      v1::FileCheckpoint tombstone = cp;
      tombstone.set_released_unix_nano(UnixNanosNow());
      positions_.Set(std::move(tombstone));
      emitter_->PositionsMoved(positions_);
      continue;
    }
    auto tailer = FileTailer::Open(found, NextSourceId(), tailer_options_);
    if (!tailer.ok() || !(*tailer)->Identify() || (!IsPlaceholder(cp) && (*tailer)->fingerprint() != cp.fingerprint()))
      continue;
    (*tailer)->set_path(cp.path());  // its records keep the name they were read under
    Tracked t;
    t.tailer = std::move(tailer).value();
    t.detached = true;
    t.detached_at = std::chrono::steady_clock::now();
    const FileKey key{cp.device(), cp.inode()};
    auto& slot = files_[key] = std::move(t);
    Position(slot);
    LogInfo(kComponent, cp.path() + " was rotated to " + found + " while the agent was down; finishing it");
    WatchDirectory(DirName(found));
    MarkReady(key);
  }
}

}  // namespace logship::agent
