#include "agent/sources/file/file_source.h"

#include <sys/stat.h>

#include <algorithm>

#include "agent/sources/file/file_paths.h"
#include "common/clock.h"
#include "common/log.h"

namespace logship::agent {
namespace {

constexpr std::string_view kComponent = "file-source";
constexpr size_t kReadBudgetPerTurn = 1 << 20;  // bytes per file per idle turn
// While inotify watches every directory involved, the full sweep (glob rescan, a stat of
// every file) only catches lost events (queue overflow), so it runs on every 10th poll.
constexpr uint64_t kSweepEveryPolls = 10;
}  // namespace

FileSource::FileSource(const FileSourceConfig& config, const SourceContext& context)
    : loop_(context.loop),
      config_(config),
      key_(config_.Key()),
      checkpoints_(*context.checkpoints),
      state_(context.checkpoints->StateAs<FileState>(FileState::kType)),
      positions_(key_) {
  tailer_options_.fingerprint_bytes = config_.fingerprint_bytes;
  tailer_options_.max_line_bytes = config_.max_line_bytes;
  tailer_options_.shared_buffer = std::make_shared<std::string>();
  tailer_options_.positions = &positions_;
  tailer_options_.follow_symlinks = config_.follow_symlinks;
  if (config_.multiline) tailer_options_.multiline = &*config_.multiline;
  tailer_options_.format = config_.format;
}

FileSource::~FileSource() { Stop(); }

Status FileSource::Start(Emitter& emitter) {
  emitter_ = &emitter;
  uv_timer_init(loop_, poll_timer_.get());
  poll_timer_.MarkInitialized();
  poll_timer_.get()->data = this;
  uv_idle_init(loop_, drain_idle_.get());
  drain_idle_.MarkInitialized();
  drain_idle_.get()->data = this;
  first_start_ = checkpoints_.fresh();
  // Watch the directory part of each pattern so new files are noticed at once.
  for (const auto& pattern : config_.include) {
    const size_t star2 = pattern.find("/**");
    std::string dir = DirName(pattern.substr(0, star2 == std::string::npos ? pattern.size() : star2 + 1));
    if (dir.find_first_of("*?[{") != std::string::npos) dir.clear();  // only a rescan finds new directories
    if (!dir.empty()) WatchDirectory(dir);
    if (star2 != std::string::npos) tree_roots_.push_back(pattern.substr(0, star2));
    // The directories before the first wildcard are the operator's choice, links included.
    std::string literal = DirName(pattern);
    while (literal.find_first_of("*?[{") != std::string::npos) literal = DirName(literal);
    literal_prefixes_.push_back(literal);
    pattern_dirs_.push_back(std::move(dir));
  }
  Scan(/*initial=*/true);
  if (!first_start_) RecoverRotated();
  const auto interval = static_cast<uint64_t>(config_.poll_interval.count());
  uv_timer_start(poll_timer_.get(), [](uv_timer_t* t) { static_cast<FileSource*>(t->data)->Poll(); }, interval, interval);
  if (config_.multiline) {
    uv_timer_init(loop_, multiline_timer_.get());
    multiline_timer_.MarkInitialized();
    multiline_timer_.get()->data = this;
    const auto every = std::max<uint64_t>(20, static_cast<uint64_t>(config_.multiline->timeout_ns / 4'000'000));
    uv_timer_start(
        multiline_timer_.get(), [](uv_timer_t* t) { static_cast<FileSource*>(t->data)->FlushIdleEvents(); }, every,
        every);
  }
  return Status::Ok();
}

void FileSource::Stop() {
  if (stopped_) return;
  stopped_ = true;
  poll_timer_.Close();
  multiline_timer_.Close();
  drain_idle_.Close();
  dir_watches_.clear();
  ready_.clear();
}

void FileSource::Pause() {
  paused_ = true;
  UpdateIdle();
}

void FileSource::Resume() {
  paused_ = false;
  UpdateIdle();
}

void FileSource::Reset(Tracked& t, const char* why) {
  // The old content's pending event and unterminated last line will never be completed.
  t.tailer->FlushAll(&config_.attributes, *emitter_);
  t.tailer->ResetAfterTruncation();
  // The checkpoint names the new generation at once (a placeholder: nothing read yet), in
  // order after the records just flushed. Else it keeps the old content's first line, and a
  // restart after the file was renamed away would not recognize it (torture seed 757113382:
  // copytruncate, new lines, rename, kill -9 lost those lines).
  RecordPosition(*t.tailer, 0, {}, 0);
  LogWarn(kComponent, t.tailer->path() + " " + why + "; reading it again from the start (generation " +
                          std::to_string(t.tailer->generation()) + ")");
  t.positioned = false;
  t.restart_at_zero = true;
  t.history_end.reset();
  Position(t);
}

void FileSource::Release(std::map<FileKey, Tracked>::iterator it) {
  FileTailer& f = *it->second.tailer;
  f.FlushAll(&config_.attributes, *emitter_);  // no more lines will come
  if (it->second.positioned || it->second.placeholder_saved)
    RecordPosition(f, it->second.positioned ? f.read_offset() : 0, {}, UnixNanosNow());
  LogInfo(kComponent, "released " + f.path() + " (rotated or deleted, read to its end)");
  auto p = by_path_.find(f.path());
  if (p != by_path_.end() && p->second == it->first) by_path_.erase(p);
  const std::string dir = DirName(f.path());
  ready_.erase(it->first);
  files_.erase(it);
  PruneWatch(dir);
}

void FileSource::Poll() {
  if (stopped_) return;
  const bool sweep = ++polls_ % kSweepEveryPolls == 0 || !GlobsWatched();
  if (sweep) Scan(/*initial=*/false);
  for (auto it = files_.begin(); it != files_.end();) {
    Tracked& t = it->second;
    FileTailer& f = *t.tailer;
    // Between sweeps, inotify reports growth, truncation and renames of files in watched
    // directories; only rotated files (waiting out rotate_wait) and unwatched ones are looked at.
    if (!sweep && !t.detached && t.positioned && dir_watches_.count(DirName(f.path()))) {
      ++it;
      continue;
    }
    if (!t.positioned) Position(t);
    struct stat st {};
    const bool stat_ok = ::fstat(f.fd(), &st) == 0;
    const uint64_t size = stat_ok ? static_cast<uint64_t>(st.st_size) : 0;
    if (t.positioned && f.Truncated()) {
      Reset(t, "was truncated");
    } else if (t.positioned && stat_ok && size != t.last_size && f.Rewritten()) {
      Reset(t, "was rewritten in place (its first line changed)");
    }
    t.last_size = size;
    const bool has_more = stat_ok && size > f.read_offset();
    // Does the path still name this file?
    struct stat pst {};
    if (!t.detached && (::stat(f.path().c_str(), &pst) != 0 || static_cast<uint64_t>(pst.st_ino) != f.inode() ||
                        static_cast<uint64_t>(pst.st_dev) != f.device())) {
      t.detached = true;
      t.detached_at = std::chrono::steady_clock::now();
    }
    // A rotated file may still be written to until its writer reopens (logrotate `create`
    // before the postrotate signal): keep it until it has not grown for rotate_wait.
    if (t.detached && has_more) t.detached_at = std::chrono::steady_clock::now();
    if (t.detached && !has_more && !ready_.count(it->first) &&
        std::chrono::steady_clock::now() - t.detached_at >= config_.rotate_wait) {
      Release(it++);
      continue;
    }
    if (has_more && t.positioned) ready_.insert(it->first);
    ++it;
  }
  if (sweep) {
    // Directories deleted meanwhile (a "**" tree pruned) take their watches with them.
    for (auto w = dir_watches_.begin(); w != dir_watches_.end();) {
      struct stat st {};
      const bool gone = ::stat(w->first.c_str(), &st) != 0 && errno == ENOENT;
      const std::string dir = w->first;
      ++w;
      if (gone) PruneWatch(dir);
    }
  }
  open_files_ = files_.size();
  watched_directories_ = dir_watches_.size();
  UpdateIdle();
}

void FileSource::FlushIdleEvents() {
  if (stopped_ || paused_) return;
  for (auto& [key, t] : files_) t.tailer->FlushPending(/*force=*/false, &config_.attributes, *emitter_);
}

void FileSource::MarkReady(const FileKey& key) {
  auto it = files_.find(key);
  if (it == files_.end()) return;
  if (!it->second.positioned) Position(it->second);
  if (it->second.positioned) ready_.insert(key);
  UpdateIdle();
}

void FileSource::UpdateIdle() {
  if (stopped_) return;
  // New files are found and checkpointed even while paused (a full spool): one rotated on
  // twice before reading resumes would otherwise be gone from the globs without a trace.
  const bool want = (!paused_ && !ready_.empty()) || rescan_wanted_;
  if (want && !uv_is_active(drain_idle_.handle())) {
    uv_idle_start(drain_idle_.get(), [](uv_idle_t* h) { static_cast<FileSource*>(h->data)->Drain(); });
  } else if (!want && uv_is_active(drain_idle_.handle())) {
    uv_idle_stop(drain_idle_.get());
  }
}

void FileSource::Drain() {
  if (rescan_wanted_) Scan(/*initial=*/false);
  for (auto it = ready_.begin(); it != ready_.end() && !paused_;) {
    auto f = files_.find(*it);
    if (f == files_.end()) {
      it = ready_.erase(it);
      continue;
    }
    // Look before reading on: bytes at the old offset of a file that was truncated, or
    // rewritten in place past that offset, are not new lines; read as such they would come
    // again after the reset, under the new fingerprint (twice in the sinks).
    if (const char* why = f->second.tailer->ContentChanged()) Reset(f->second, why);
    if (!f->second.positioned) {
      // Truncated to nothing (or to a first line still being written): nothing may be read
      // before the new content's identity is known, or its first lines would be read twice,
      // under two ids. The next event or poll positions it.
      it = ready_.erase(it);
      continue;
    }
    const auto outcome = f->second.tailer->ReadSome(kReadBudgetPerTurn, &config_.attributes, *emitter_);
    if (outcome == FileTailer::ReadOutcome::kError) {
      LogWarn(kComponent, "read error on " + f->second.tailer->path() + "; will retry");
    }
    if (outcome != FileTailer::ReadOutcome::kMore) {
      it = ready_.erase(it);
    } else {
      ++it;
    }
    if (!emitter_->Accepting()) paused_ = true;  // the pipeline calls Resume() when it drains
  }
  if (ready_.empty() && !paused_) emitter_->CaughtUp();
  UpdateIdle();
}

}  // namespace logship::agent
