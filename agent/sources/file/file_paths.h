// Path helpers of the file source. Any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace logship::agent {

inline std::string DirName(const std::string& path) { return std::filesystem::path(path).parent_path().string(); }
inline std::string BaseName(const std::string& path) { return std::filesystem::path(path).filename().string(); }

// A regular file in `dir` with this inode on `device` (a rotated file found again), or "".
std::string FindByInode(const std::string& dir, uint64_t device, uint64_t inode);

}  // namespace logship::agent
