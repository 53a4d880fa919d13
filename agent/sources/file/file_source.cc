#include "agent/sources/file/file_source.h"

#include <dirent.h>
#include <fnmatch.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "common/clock.h"
#include "common/log.h"

namespace logship::agent {
namespace {

constexpr std::string_view kComponent = "file-source";
constexpr size_t kReadBudgetPerTurn = 1 << 20;  // bytes per file per idle turn
// While inotify watches every directory involved, the full sweep (glob rescan, a stat of
// every file) only catches lost events (queue overflow), so it runs on every 10th poll.
constexpr uint64_t kSweepEveryPolls = 10;

std::string DirName(const std::string& path) { return std::filesystem::path(path).parent_path().string(); }
std::string BaseName(const std::string& path) { return std::filesystem::path(path).filename().string(); }

// A checkpoint saved for a file before it could be identified: nothing was read before offset 0.
bool IsPlaceholder(const v1::FileCheckpoint& cp) { return cp.fingerprint() == 0 && cp.offset() == 0; }

// Where the history of a file `size` bytes long ends: after its last newline, so a line
// being written when the agent first starts is shipped whole once it is complete. A last
// line longer than `max_line` is cut at `size` (it would be split into parts anyway).
uint64_t HistoryEnd(int fd, uint64_t size, uint64_t max_line) {
  constexpr size_t kStep = 64 << 10;
  std::string buf(kStep, '\0');
  uint64_t end = size;
  while (end > 0 && size - end <= max_line) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kStep, end));
    const ssize_t got = ::pread(fd, buf.data(), n, static_cast<off_t>(end - n));
    if (got != static_cast<ssize_t>(n)) return size;
    for (size_t i = n; i > 0; --i)
      if (buf[i - 1] == '\n') return end - n + i;
    end -= n;
  }
  return end == 0 ? 0 : size;
}

// A file in `dir` with this inode on `device`, or "".
std::string FindByInode(const std::string& dir, uint64_t device, uint64_t inode) {
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), &::closedir);
  if (!d) return {};
  while (const dirent* e = ::readdir(d.get())) {
    if (static_cast<uint64_t>(e->d_ino) != inode) continue;
    const std::string path = dir + "/" + e->d_name;
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_dev) == device)
      return path;
  }
  return {};
}

}  // namespace

FileSource::FileSource(uv_loop_t* loop, FileSourceConfig config, const CheckpointStore& checkpoints)
    : loop_(loop), config_(std::move(config)), checkpoints_(checkpoints) {
  tailer_options_.fingerprint_bytes = config_.fingerprint_bytes;
  tailer_options_.max_line_bytes = config_.max_line_bytes;
  tailer_options_.shared_buffer = std::make_shared<std::string>();
  tailer_options_.source_key = config_.key;
  tailer_options_.follow_symlinks = config_.follow_symlinks;
  if (config_.multiline) tailer_options_.multiline = &*config_.multiline;
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

std::string FileSource::Untrusted(const std::string& path, const struct stat& st) const {
  // Whoever may write in a log directory must not be able to make the agent read a file of
  // someone else's (/var/log/auth.log) by placing a link there.
  struct stat lst {};
  if (::lstat(path.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode)) return "it is a symbolic link";
  // The directories the patterns name are the operator's; below them, none may be a link.
  const std::string dir = DirName(path);
  char real[PATH_MAX];
  if (::realpath(dir.c_str(), real) == nullptr) return {};  // gone meanwhile: the open fails later
  bool below_a_prefix = false;
  for (const auto& prefix : literal_prefixes_) {
    if (dir != prefix && dir.compare(0, prefix.size() + 1, prefix + "/") != 0) continue;
    below_a_prefix = true;
    char real_prefix[PATH_MAX];
    if (::realpath(prefix.c_str(), real_prefix) == nullptr) continue;
    if (std::string(real) == std::string(real_prefix) + dir.substr(prefix.size())) {
      below_a_prefix = false;  // one pattern reaches it without a link
      break;
    }
  }
  if (below_a_prefix) return "its directory is reached through a symbolic link";
  // A hard link: in a directory owned by a user, every file must be that user's.
  struct stat dst {};
  if (::stat(dir.c_str(), &dst) == 0 && dst.st_uid != 0 && st.st_uid != dst.st_uid && st.st_nlink > 1)
    return "a hard link owned by uid " + std::to_string(st.st_uid) + " in a directory owned by uid " +
           std::to_string(dst.st_uid);
  return {};
}

bool FileSource::Matches(const std::string& path) const {
  if (Excluded(path)) return false;
  for (const auto& pattern : config_.include) {
    std::string shallow = pattern;
    if (auto p = shallow.find("/**/"); p != std::string::npos) shallow.erase(p, 3);
    const int flags = pattern.find("/**") == std::string::npos ? FNM_PATHNAME : 0;
    if (fnmatch(pattern.c_str(), path.c_str(), flags) == 0 || fnmatch(shallow.c_str(), path.c_str(), flags) == 0)
      return true;
  }
  return false;
}

bool FileSource::Excluded(const std::string& path) const {
  const std::string base = BaseName(path);
  for (const auto& ex : config_.exclude) {
    if (fnmatch(ex.c_str(), path.c_str(), 0) == 0 || fnmatch(ex.c_str(), base.c_str(), 0) == 0) return true;
  }
  return false;
}

std::vector<std::string> FileSource::Expand(const std::string& pattern) {
  std::vector<std::string> out;
  const size_t star2 = pattern.find("/**");
  if (star2 == std::string::npos) {
    glob_t g{};
    if (::glob(pattern.c_str(), GLOB_NOSORT | GLOB_BRACE, nullptr, &g) == 0)
      for (size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
    globfree(&g);
    return out;
  }
  // "**": walk the tree under the fixed prefix (symlinked directories are not followed, so
  // loops cannot trap the walk). Without FNM_PATHNAME '*' spans '/', so "a/**/*.log"
  // matches any depth >= 1; the pattern without "**/" adds depth 0.
  const std::string root = pattern.substr(0, star2);
  std::string shallow = pattern;
  if (auto p = shallow.find("/**/"); p != std::string::npos) shallow.erase(p, 3);
  std::error_code ec;
  std::filesystem::recursive_directory_iterator it(root, std::filesystem::directory_options::skip_permission_denied, ec);
  for (; !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it.depth() > 32) {
      it.disable_recursion_pending();
      continue;
    }
    const std::string path = it->path().string();
    if (it->is_directory(ec)) {
      WatchDirectory(path);
      continue;
    }
    if (fnmatch(pattern.c_str(), path.c_str(), 0) == 0 || fnmatch(shallow.c_str(), path.c_str(), 0) == 0)
      out.push_back(path);
  }
  return out;
}

void FileSource::Scan(bool initial) {
  rescan_wanted_ = false;
  std::set<std::string> seen;
  for (const auto& pattern : config_.include) {
    auto paths = Expand(pattern);
    if (initial && paths.empty())
      LogWarn(kComponent, "include pattern " + pattern +
                              " matches no file yet; files that appear later are read (check the pattern if "
                              "none should be missing)");
    for (auto& path : paths) seen.insert(std::move(path));
  }
  for (const auto& path : seen) {
    if (!Excluded(path)) Track(path, initial);
  }
}

void FileSource::Track(const std::string& path, bool initial) {
  struct stat st {};
  // A looping or dangling symlink, a directory, a fifo: skipped, said once (polls repeat this).
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT) {
      // The name is gone (deleted or renamed away): its file is finished, then released.
      if (auto gone = by_path_.find(path); gone != by_path_.end()) {
        if (auto old = files_.find(gone->second); old != files_.end() && !old->second.detached) {
          old->second.detached = true;
          old->second.detached_at = std::chrono::steady_clock::now();
        }
        by_path_.erase(gone);
      }
    }
    struct stat lst {};
    if ((err != ENOENT || ::lstat(path.c_str(), &lst) == 0) && skipped_.insert(path).second)
      LogWarn(kComponent, "skipping " + path + ": " + std::strerror(err));
    return;
  }
  if (!S_ISREG(st.st_mode)) {
    if (skipped_.insert(path).second)
      LogWarn(kComponent, "skipping " + path + ": " + (S_ISDIR(st.st_mode) ? "a directory" : "not a regular file") +
                              ", only files are tailed");
    return;
  }
  if (!config_.follow_symlinks) {
    if (const std::string why = Untrusted(path, st); !why.empty()) {
      if (skipped_.insert(path).second)
        LogWarn(kComponent, "skipping " + path + ": " + why + " (set follow_symlinks: true on this source if that is meant)");
      return;
    }
  }
  const FileKey key{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
  auto current = by_path_.find(path);
  if (current != by_path_.end() && current->second == key) return;  // already tailing it
  if (current != by_path_.end()) {
    // The path names a new file now (rename rotation): the old one is finished, then released.
    if (auto old = files_.find(current->second); old != files_.end()) {
      if (!old->second.detached) old->second.detached_at = std::chrono::steady_clock::now();
      old->second.detached = true;
      MarkReady(current->second);
    }
  }
  by_path_[path] = key;
  if (auto existing = files_.find(key); existing != files_.end()) {
    existing->second.tailer->set_path(path);  // renamed into a watched path: same file
    existing->second.detached = false;
    return;
  }
  auto tailer = FileTailer::Open(path, NextSourceId(), tailer_options_);
  if (!tailer.ok()) {
    if (tailer.status().code() != Status::Code::kNotFound && skipped_.insert(path).second)
      LogWarn(kComponent, "cannot open " + path + ": " + tailer.status().message() +
                              "; retrying at every poll (grant the agent's user read access, e.g. group adm)");
    by_path_.erase(path);
    return;
  }
  Tracked t;
  t.tailer = std::move(tailer).value();
  if (initial && first_start_ && !config_.start_at_beginning) {
    struct stat fst {};
    const uint64_t size = ::fstat(t.tailer->fd(), &fst) == 0 ? static_cast<uint64_t>(fst.st_size) : 0;
    t.history_end = HistoryEnd(t.tailer->fd(), size, config_.max_line_bytes);
  }
  skipped_.erase(path);
  auto& slot = files_[key] = std::move(t);
  WatchDirectory(DirName(path));
  Position(slot);
  MarkReady(key);
}

void FileSource::Position(Tracked& t) {
  if (t.positioned) return;
  FileTailer& f = *t.tailer;
  if (!f.Identify()) {
    if (!t.placeholder_saved && !t.restart_at_zero && !checkpoints_.FindFile(config_.key, f.device(), f.inode())) {
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
  if (const auto* cp = checkpoints_.FindFile(config_.key, f.device(), f.inode())) {
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
  v1::Checkpoints delta;
  auto* cp = delta.add_files();
  cp->set_path(f.path());
  cp->set_source(config_.key);
  cp->set_device(f.device());
  cp->set_inode(f.inode());
  cp->set_fingerprint(f.fingerprint());
  cp->set_generation(f.generation());
  cp->set_offset(offset);
  cp->set_tail(std::move(tail));
  cp->set_released_unix_nano(released_unix_nano);
  if (first_sight)
    emitter_->RecordFirstSight(delta);
  else
    emitter_->UpdatePosition(delta);
}

void FileSource::RecoverRotated() {
  std::vector<v1::FileCheckpoint> missing;
  checkpoints_.ForEachFile(config_.key, [&](const v1::FileCheckpoint& cp) {
    // An orphan (its source renamed) is ours when its path is one of our patterns'.
    if (cp.source() != config_.key && !Matches(cp.path())) return;
    if (!files_.count({cp.device(), cp.inode()})) missing.push_back(cp);
  });
  for (const auto& cp : missing) {
    const std::string found = FindByInode(DirName(cp.path()), cp.device(), cp.inode());
    if (found.empty()) {
      // Deleted while the agent was down: nothing more can be read. Keep a tombstone.
      v1::Checkpoints delta;
      *delta.add_files() = cp;
      delta.mutable_files(0)->set_source(config_.key);
      delta.mutable_files(0)->set_released_unix_nano(UnixNanosNow());
      emitter_->UpdatePosition(delta);
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

void FileSource::WatchDirectory(const std::string& dir) {
  if (dir.empty() || dir_watches_.count(dir)) return;
  auto w = std::make_unique<UvHandle<uv_fs_event_t>>();
  if (uv_fs_event_init(loop_, w->get()) != 0) return;
  w->MarkInitialized();
  w->get()->data = this;
  const int rc = uv_fs_event_start(
      w->get(),
      [](uv_fs_event_t* h, const char* filename, int, int status) {
        if (status < 0) return;
        char buf[4096];
        size_t len = sizeof buf;
        if (uv_fs_event_getpath(h, buf, &len) != 0) return;
        static_cast<FileSource*>(h->data)->OnDirectoryEvent(std::string(buf, len), filename);
      },
      dir.c_str(), 0);
  if (rc != 0) {
    LogWarn(kComponent, "cannot watch " + dir + " (" + uv_strerror(rc) + "); relying on polling");
    return;
  }
  dir_watches_.emplace(dir, std::move(w));
}

void FileSource::OnDirectoryEvent(const std::string& dir, const char* filename) {
  if (stopped_) return;
  const std::string path = filename == nullptr ? std::string() : dir + "/" + filename;
  auto it = by_path_.find(path);
  if (it == by_path_.end()) {
    rescan_wanted_ = true;  // a new name: let the globs decide (on the next drain turn)
  } else {
    Track(path, /*initial=*/false);  // one stat: the name may now be a new file (rotation)
    if (auto now = by_path_.find(path); now != by_path_.end()) MarkReady(now->second);
  }
  UpdateIdle();
}

void FileSource::Reset(Tracked& t, const char* why) {
  // The old content's pending event and unterminated last line will never be completed.
  t.tailer->FlushAll(&config_.attributes, *emitter_);
  t.tailer->ResetAfterTruncation();
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

void FileSource::PruneWatch(const std::string& dir) {
  if (!dir_watches_.count(dir)) return;
  for (const auto& d : pattern_dirs_)
    if (d == dir) return;
  for (const auto& root : tree_roots_)
    if (dir == root || dir.compare(0, root.size() + 1, root + "/") == 0) {
      struct stat st {};
      if (::stat(dir.c_str(), &st) == 0) return;  // still part of a "**" tree
    }
  for (const auto& [key, t] : files_)
    if (DirName(t.tailer->path()) == dir) return;
  for (const auto& [path, key] : by_path_)
    if (DirName(path) == dir) return;
  dir_watches_.erase(dir);
}

bool FileSource::GlobsWatched() const {
  for (const auto& dir : pattern_dirs_) {
    if (dir.empty() || !dir_watches_.count(dir)) return false;
  }
  return true;
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
