#include "agent/sources/file/file_paths.h"

#include <dirent.h>
#include <sys/stat.h>

#include <memory>

namespace logship::agent {

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

}  // namespace logship::agent
