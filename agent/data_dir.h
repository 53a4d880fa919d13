// The agent's data_dir for one run: locked for this process (one agent per data_dir), its
// spool opened, and the checkpoints recovered (the file, then the positions of frames spooled
// after it was written). Main thread, at start-up.
#pragma once

#include <memory>

#include "agent/agent_config.h"
#include "agent/checkpoint/checkpoint_store.h"
#include "agent/spool/spool.h"
#include "common/file_util.h"
#include "common/status.h"

namespace logship::agent {

struct DataDir {
  UniqueFd lock;
  std::unique_ptr<spool::Spool> spool;
  std::unique_ptr<CheckpointStore> checkpoints;
  uint64_t spool_meta_errors = 0;  // frames whose positions could not be parsed
};

// The error says what to do about it (permissions, another agent).
Result<DataDir> OpenDataDir(const AgentConfig& config);

}  // namespace logship::agent
