#include "common/lock_order_graph.h"

#include <absl/synchronization/mutex.h>

namespace logship {

void DisableLockOrderGraph() { absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore); }

}  // namespace logship
