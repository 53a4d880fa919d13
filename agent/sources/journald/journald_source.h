// `type: journald` source on libsystemd's sd-journal API: the local system journal, or a
// directory of journal files (`directory:`, which is how tests feed it real files made
// with systemd-journal-remote).
//
// Position: the cursor of the last entry in the spool, checkpointed like file offsets
// (it rides in the spool frame). On start it seeks to that cursor and continues after it;
// if the entry is gone (vacuumed, rotated away) it warns, counts the gap and starts at the
// oldest entry still there. Without a cursor, `start_at` decides at the data_dir's very
// first start; later (a unit quiet so far, a filter changed by a reload) reading starts at
// the time of that first start. Re-read entries keep their cursor-derived id and journal
// timestamp, so sinks drop them as duplicates. A MESSAGE longer than max_line_bytes is
// split into flagged parts.
//
// Waiting: the journal's inotify fd is polled by the libuv loop (no busy polling), with a
// timer as a fallback; new journal files and rotation are sd-journal's business.
//
// Loop thread only.
#pragma once

#include <systemd/sd-journal.h>
#include <uv.h>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agent/checkpoint/checkpoint_store.h"
#include "agent/sources/journald/journald_config.h"
#include "agent/sources/journald/journald_state.h"
#include "agent/sources/source_plugin.h"
#include "agent/uv_handle.h"

namespace logship::agent {

class JournaldSource final : public Source {
 public:
  // Reads its cursor from the context's checkpoint store (JournaldState).
  JournaldSource(const JournaldSourceConfig& config, const SourceContext& context);
  ~JournaldSource() override;

  Status Start(Emitter& emitter) override;
  void Pause() override;
  void Resume() override;
  void Stop() override;

  // Any thread (metrics).
  uint64_t cursor_gaps() const { return cursor_gaps_.load(); }
  uint64_t errors() const { return errors_.load(); }

 private:
  struct JournalCloser { void operator()(sd_journal* j) const { sd_journal_close(j); } };

  Status Open();
  void Position();
  void Wake();
  void Drain();
  void EmitCurrent();
  void UpdateIdle();

  uv_loop_t* loop_;
  const JournaldSourceConfig config_;
  const std::string key_;
  const std::string agent_id_;
  const CheckpointStore& checkpoints_;
  const JournaldState& state_;
  JournalPositions positions_;
  Emitter* emitter_ = nullptr;
  std::unique_ptr<sd_journal, JournalCloser> journal_;
  bool paused_ = false;
  bool stopped_ = false;
  bool ready_ = true;       // entries may be waiting
  std::atomic<uint64_t> cursor_gaps_{0};
  std::atomic<uint64_t> errors_{0};  // entries that could not be read (no cursor)
  std::map<std::string, uint64_t, std::less<>> source_ids_;  // source name → LineRecord.source_id
  // Per-entry scratch: copies of the fields, and views of them for the LineRecord.
  std::string scratch_name_, scratch_body_;
  std::vector<std::string> scratch_values_;
  std::vector<AttributeView> attributes_;
  UvHandle<uv_poll_t> poll_;
  UvHandle<uv_timer_t> timer_;
  UvHandle<uv_idle_t> idle_;
};

}  // namespace logship::agent
