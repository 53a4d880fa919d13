#include "agent/data_dir.h"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "common/clock.h"
#include "common/log.h"

namespace logship::agent {
namespace {

constexpr std::string_view kComponent = "agent";

// Replays checkpoint deltas of frames spooled after the checkpoint file was last written.
Status RecoverCheckpoints(spool::Spool& spool, CheckpointStore& checkpoints, bool sync, uint64_t& spool_meta_errors) {
  if (Status s = checkpoints.Load(); !s.ok()) return s;
  const uint64_t covered = checkpoints.spool_sequence();
  spool.EnsureSequenceAbove(covered);
  uint64_t last = covered;
  uint64_t unreadable = 0;
  Status s = spool.ForEachRecoveredMetaAfter(covered, [&](uint64_t seq, std::string_view meta) {
    v1::Checkpoints delta;
    if (!delta.ParseFromArray(meta.data(), static_cast<int>(meta.size())) || !checkpoints.Apply(delta).ok()) {
      ++unreadable;  // CRC-checked, so a bug rather than damage; its lines may be read again
      LogError(kComponent, "cannot parse the positions of spool frame " + std::to_string(seq) +
                               "; lines it holds may be read (and shipped) again");
    }
    last = seq;
  });
  if (!s.ok()) return s;
  spool_meta_errors += unreadable;
  // Frames but no checkpoint file: the data_dir was used before (its file was lost).
  if (checkpoints.fresh() && spool.recovery().frames > 0) checkpoints.Initialize(UnixNanosNow());
  if (last != covered) {
    LogInfo(kComponent, "recovered positions from spool frames up to " + std::to_string(last));
    if (Status w = checkpoints.Save(last, sync); !w.ok()) return w;
  }
  spool.MarkCheckpointed(last);
  return Status::Ok();
}

Result<UniqueFd> Lock(const std::string& data_dir) {
  if (Status s = MakeDirs(data_dir); !s.ok()) return s;
  UniqueFd lock(::open((data_dir + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640));
  if (!lock.valid()) {
    const int err = errno;
    return Status::IoError("data_dir " + data_dir + " is not writable (" + std::strerror(err) +
                           "): the agent keeps its spool and checkpoints there; make it writable for the agent's "
                           "user or set data_dir to a writable directory");
  }
  if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0)
    return Status::IoError("another agent is using " + data_dir + " (" + data_dir +
                           "/lock is held); give each agent its own data_dir");
  return lock;
}

}  // namespace

Result<DataDir> OpenDataDir(const AgentConfig& config) {
  DataDir d;
  auto lock = Lock(config.data_dir);
  if (!lock.ok()) return lock.status();
  d.lock = std::move(*lock);
  auto spool = spool::Spool::Open(config.spool);
  if (!spool.ok()) return Status::IoError("cannot open spool: " + spool.status().message());
  d.spool = std::move(*spool);
  const auto& rec = d.spool->recovery();
  LogInfo(kComponent, "spool: " + std::to_string(rec.frames) + " frames found, " + std::to_string(rec.unacked_frames) +
                          " to send, " + std::to_string(rec.corrupt_frames) + " corrupt skipped");
  d.checkpoints = std::make_unique<CheckpointStore>(config.data_dir + "/checkpoints", SourceStateTypesOfPlugins());
  std::set<std::string> keys;
  for (const auto& src : config.sources) keys.insert(src->Key());
  d.checkpoints->SetActiveSources(std::move(keys));
  if (Status s = RecoverCheckpoints(*d.spool, *d.checkpoints, config.spool.fsync == spool::FsyncPolicy::kBatch,
                                    d.spool_meta_errors);
      !s.ok())
    return Status::IoError("cannot recover checkpoints: " + s.message());
  return d;
}

}  // namespace logship::agent
