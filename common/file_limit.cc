#include "common/file_limit.h"

#include <sys/resource.h>

namespace logship {

FileLimit RaiseFileLimit() {
  FileLimit out;
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return out;
  out.before = out.after = lim.rlim_cur;
  if (lim.rlim_cur >= lim.rlim_max) return out;
  rlimit raised = lim;
  raised.rlim_cur = lim.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &raised) == 0) out.after = raised.rlim_cur;
  return out;
}

}  // namespace logship
