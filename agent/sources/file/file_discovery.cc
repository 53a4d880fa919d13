// File discovery: globs, inotify watches on directories, and which files may be tailed.
#include <fnmatch.h>
#include <glob.h>
#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "agent/sources/file/file_paths.h"
#include "agent/sources/file/file_source.h"
#include "common/log.h"

namespace logship::agent {
namespace {
constexpr std::string_view kComponent = "file-source";
}  // namespace

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
    t.history_end = t.tailer->HistoryEnd(config_.max_line_bytes);
  }
  skipped_.erase(path);
  auto& slot = files_[key] = std::move(t);
  WatchDirectory(DirName(path));
  Position(slot);
  MarkReady(key);
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

}  // namespace logship::agent
