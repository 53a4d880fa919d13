// The contract between sources (file, journald, …) and the agent pipeline.
//
// Threads: everything here runs on the agent's libuv loop thread. Sources read and emit;
// they never touch the network or the spool.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/record_id.h"
#include "common/status.h"
#include "logship/agent/v1/checkpoint.pb.h"

namespace logship::agent {

using Attributes = std::vector<std::pair<std::string, std::string>>;

// A record attribute as a source produced it (views, like everything in LineRecord).
struct AttributeView {
  std::string_view key;
  std::string_view value;
};

// One line (or line part, or journal entry) as a source produced it. Views are valid only
// during Emit().
struct LineRecord {
  uint64_t source_id = 0;             // same id ⇔ same source_name and attributes
  std::string_view source_name;       // file path, or journal unit / identifier
  const Attributes* attributes = nullptr;             // per-source attributes
  const std::vector<AttributeView>* record_attributes = nullptr;  // per-record, optional
  std::string_view body;
  RecordId id;                        // journal records only; a file record's id is derived
                                      // from start_position (by the collector, see record_identity)
  FilePosition start_position;        // file records: where the record starts (its id's input)
  int64_t time_unix_nano = 0;         // event time; 0 = not known
  int64_t observed_unix_nano = 0;
  int32_t severity = 0;               // OpenTelemetry severity number; 0 = unknown
  uint32_t flags = 0;                 // logship.v1.LogRecord.Flags

  // Where the source stands once this record is spooled: a file position (of the file
  // source `file_source`) …
  enum class Position { kFile, kJournal } position = Position::kFile;
  FilePosition next_position;
  std::string_view file_source;
  // … or a journal cursor (the last entry consumed), keyed by the journal source's key.
  std::string_view journal_key;
  std::string_view journal_cursor;
};

class Emitter {
 public:
  virtual ~Emitter() = default;
  virtual void Emit(const LineRecord& record) = 0;
  // False while downstream is full: a source must stop reading until Resume().
  virtual bool Accepting() const = 0;
  // The source has read everything there is for now (every file at its end, the journal
  // at its tail): a well-filled batch need not wait out its linger.
  virtual void CaughtUp() {}
  // A position that moves without a record (start_at skipping a file's history, a released
  // file's tombstone). It takes effect in order with the records emitted before it: once
  // they are spooled.
  virtual void UpdatePosition(const v1::Checkpoints& delta) = 0;
  // Where reading of a file with no checkpoint yet starts (its first sight). Nothing emitted
  // before concerns that file, so it takes effect at once, ahead of batches still waiting
  // (a full spool): a file seen but never read must not be forgotten by a crash.
  virtual void RecordFirstSight(const v1::Checkpoints& delta) { UpdatePosition(delta); }
};

class Source {
 public:
  virtual ~Source() = default;
  Source() = default;
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;

  // Begins watching and reading. `emitter` must outlive the source.
  virtual Status Start(Emitter& emitter) = 0;
  virtual void Pause() = 0;
  virtual void Resume() = 0;
  // Releases loop handles; after the loop runs once more, the source may be destroyed.
  virtual void Stop() = 0;
};

}  // namespace logship::agent

namespace logship::agent {
// Process-wide unique ids for LineRecord::source_id.
inline uint64_t NextSourceId() {
  static uint64_t next = 0;  // loop thread only
  return ++next;
}
}  // namespace logship::agent
