// Small POSIX file helpers with explicit results. Thread-safe (no shared state).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace logship {

// Owns a file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() { int f = fd_; fd_ = -1; return f; }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// write(2) all of `data`, retrying short writes and EINTR.
Status WriteAll(int fd, std::string_view data);
// pread(2) exactly n bytes at offset; Corruption if the file is shorter.
Status PreadExact(int fd, uint64_t offset, size_t n, std::string* out);

// Replaces `path` atomically: write "<path>.tmp", optionally fsync it, rename over `path`,
// and (when sync) fsync the directory so the rename itself is durable.
Status WriteFileAtomically(const std::string& path, std::string_view data, bool sync);
Result<std::string> ReadWholeFile(const std::string& path);
Status MakeDirs(const std::string& path);
Status SyncDir(const std::string& dir);
// Names (not paths) of entries in `dir`, unsorted; "." and ".." excluded.
Result<std::vector<std::string>> ListDir(const std::string& dir);

}  // namespace logship
