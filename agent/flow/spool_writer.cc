#include "agent/flow/spool_writer.h"

#include <cstdlib>

#include "common/log.h"
#include "common/thread_name.h"
#include "logship/v1/ingest.pb.h"

namespace logship::agent {
namespace {
constexpr std::string_view kComponent = "pipeline";
constexpr auto kRetry = std::chrono::milliseconds(100);
// Batches that arrive while a round is being compressed join it, up to this many: one fsync
// for them all. (The loop fills a batch faster than this thread compresses one, so under
// load every round would otherwise be a single batch and its own fsync.) Bounds how long
// the round's first batch waits to be reported: a few compressions, milliseconds.
constexpr size_t kRoundMaxBatches = 4;
}  // namespace

SpoolWriter::SpoolWriter(spool::Spool& spool, SpoolWriterOptions options, std::function<void()> notify)
    : spool_(spool),
      options_(options),
      notify_(std::move(notify)),
      encoder_(options.zstd_level),
      last_sync_(std::chrono::steady_clock::now()),
      thread_([this] { Run(); }) {}

SpoolWriter::~SpoolWriter() { Stop(); }

void SpoolWriter::Submit(FilledBatch batch) {
  {
    MutexLock lock(mu_);
    ++uncompressed_;
    uncompressed_bytes_ += batch.batch.size;
    queue_.push_back(std::move(batch));
  }
  wake_.NotifyOne();
}

size_t SpoolWriter::Pending() const {
  MutexLock lock(mu_);
  return queue_.size() + in_round_;
}

size_t SpoolWriter::Uncompressed() const {
  MutexLock lock(mu_);
  return uncompressed_;
}

uint64_t SpoolWriter::UncompressedBytes() const {
  MutexLock lock(mu_);
  return uncompressed_bytes_;
}

std::vector<SpoolWriter::Appended> SpoolWriter::TakeAppended() {
  MutexLock lock(mu_);
  return std::exchange(appended_, {});
}

bool SpoolWriter::refused() const {
  MutexLock lock(mu_);
  return refused_;
}

bool SpoolWriter::WaitIdle(std::chrono::milliseconds timeout) {
  MutexLock lock(mu_);
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!((queue_.empty() && in_round_ == 0) || refused_ || stopping_) && changed_.WaitUntil(mu_, until)) {
  }
  return queue_.empty() && in_round_ == 0;
}

void SpoolWriter::Stop() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  wake_.NotifyAll();
  if (thread_.joinable()) thread_.join();
}

bool SpoolWriter::SleepUnlessStopping(std::chrono::milliseconds d) {
  MutexLock lock(mu_);
  const auto until = std::chrono::steady_clock::now() + d;
  while (!stopping_ && wake_.WaitUntil(mu_, until)) {
  }
  return stopping_;
}

void SpoolWriter::Run() {
  SetThreadName("spool-writer");
  const bool interval = options_.fsync == spool::FsyncPolicy::kInterval;
  std::vector<FilledBatch> group;
  for (;;) {
    bool stopping = false;
    {
      MutexLock lock(mu_);
      if (interval && unsynced_) {
        while (!stopping_ && queue_.empty() && wake_.WaitUntil(mu_, last_sync_ + options_.fsync_interval)) {
        }
      } else {
        while (!stopping_ && queue_.empty()) wake_.Wait(mu_);
      }
      stopping = stopping_;
      for (auto& b : queue_) group.push_back(std::move(b));
      queue_.clear();
      in_round_ = group.size();
    }
    if (interval && unsynced_ && (stopping || std::chrono::steady_clock::now() - last_sync_ >= options_.fsync_interval)) {
      if (Status s = spool_.Sync(); !s.ok()) LogWarn(kComponent, "spool fsync failed: " + s.message());
      unsynced_ = false;
      last_sync_ = std::chrono::steady_clock::now();
    }
    if (stopping) return;
    do {
      for (auto& filled : group) {
        if (!AppendOne(filled)) return;
      }
      group.clear();
    } while (round_.size() < kRoundMaxBatches && TakeMore(group));
    if (!Commit()) return;
  }
}

bool SpoolWriter::TakeMore(std::vector<FilledBatch>& group) {
  MutexLock lock(mu_);
  if (stopping_ || queue_.empty()) return false;
  for (auto& b : queue_) group.push_back(std::move(b));
  queue_.clear();
  in_round_ += group.size();
  return true;
}

bool SpoolWriter::AppendOne(FilledBatch& filled) {
  const uint64_t serialized_bytes = filled.batch.size;
  const auto compressed = [&] {  // the batch's serialized bytes are freed
    MutexLock lock(mu_);
    --uncompressed_;
    uncompressed_bytes_ -= serialized_bytes;
  };
  if (filled.record_count == 0) {
    // Positions alone (start_at skips, released files): nothing to ship; reported in order
    // with the frames around them, so checkpoints never move backwards.
    compressed();
    round_.push_back(Appended{0, 0, std::move(filled.delta)});
    return true;
  }
  auto sealed = encoder_.Encode(std::move(filled));
  compressed();
  if (!sealed.ok()) {
    // Only an allocation failure inside zstd; losing the batch silently would be worse than dying.
    LogError(kComponent, "cannot compress batch: " + sealed.status().message());
    std::abort();
  }
  spool::AppendRequest req;
  req.record_count = sealed->record_count;
  req.uncompressed_bytes = sealed->uncompressed_bytes;
  req.codec = static_cast<uint8_t>(logship::v1::CODEC_ZSTD);
  req.payload = sealed->payload;
  req.meta = sealed->meta;
  req.defer_sync = true;
  Result<uint64_t> seq = spool_.Append(req);
  if (!seq.ok()) {
    // Report what this round already appended before waiting for room.
    if (!Commit()) return false;
    if (unsynced_) {
      // fsync interval: frames become shippable at the sync. Waiting for room without it
      // would wait for acks of frames that can never be sent (a full spool, wedged for good).
      if (Status s = spool_.Sync(); !s.ok()) LogWarn(kComponent, "spool fsync failed: " + s.message());
      unsynced_ = false;
      last_sync_ = std::chrono::steady_clock::now();
    }
    LogWarn(kComponent, "cannot spool batch, pausing sources until it fits: " + seq.status().message());
    {
      MutexLock lock(mu_);
      refused_ = true;
    }
    changed_.NotifyAll();
    notify_();
    do {
      if (SleepUnlessStopping(kRetry)) return false;
      seq = spool_.Append(req);
    } while (!seq.ok());
    LogInfo(kComponent, "spool accepts batches again; resuming sources");
  }
  round_.push_back(Appended{*seq, sealed->record_count, std::move(sealed->delta)});
  return true;
}

bool SpoolWriter::Commit() {
  if (round_.empty()) return true;
  if (options_.fsync == spool::FsyncPolicy::kBatch) {
    // Until the fsync succeeds the round is not reported, so checkpoints stay behind it and
    // a crash re-reads its lines. (After an fsync error Linux may drop the dirty pages and a
    // retry can succeed without them; the frames are still readable from the page cache
    // and usually shipped by then. Only a crash in between would lose them.)
    bool warned = false;
    for (Status s = spool_.Sync(); !s.ok(); s = spool_.Sync()) {
      if (!warned) LogError(kComponent, "spool fsync failed (retrying; positions are not saved meanwhile): " + s.message());
      warned = true;
      if (SleepUnlessStopping(kRetry)) return false;
    }
  } else if (options_.fsync == spool::FsyncPolicy::kInterval) {
    unsynced_ = true;
  }
  {
    MutexLock lock(mu_);
    for (auto& a : round_) appended_.push_back(std::move(a));
    in_round_ -= round_.size();
    refused_ = false;
  }
  round_.clear();
  notify_();  // before waking WaitIdle: whoever waited may then count on the notification
  changed_.NotifyAll();
  return true;
}

}  // namespace logship::agent
