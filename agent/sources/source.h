// The contract between sources (plugins under agent/sources/<type>/) and the agent's flow.
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

namespace logship::agent {

using Attributes = std::vector<std::pair<std::string, std::string>>;

// A record attribute as a source produced it (views, like everything in LineRecord).
struct AttributeView {
  std::string_view key;
  std::string_view value;
};

class PositionTracker;

// One line (or line part, or message) as a source produced it. Views are valid only during
// Emit().
struct LineRecord {
  uint64_t source_id = 0;             // same id ⇔ same source_name and attributes
  std::string_view source_name;       // file path, journal unit, syslog app name …
  const Attributes* attributes = nullptr;             // per-source attributes
  const std::vector<AttributeView>* record_attributes = nullptr;  // per-record, optional
  std::string_view body;
  // Identity (common/record_id.h): an id of its own, or a position in a byte stream from
  // which the collector derives it (no id on the wire).
  bool has_id = false;
  RecordId id;
  FilePosition start_position;        // !has_id: where the record starts
  FilePosition next_position;         // !has_id: where the stream stands after it
  // !has_id: the stream's last bytes before next_position (at most 32) when the body does not
  // end with them (a decoded record); empty: they are the body's end and its newline.
  std::string_view position_tail;
  int64_t time_unix_nano = 0;         // event time; 0 = not known
  int64_t observed_unix_nano = 0;
  int32_t severity = 0;               // OpenTelemetry severity number; 0 = unknown
  uint32_t flags = 0;                 // logship.v1.LogRecord.Flags
  // The emitting source's positions: told about the record as it joins a batch, and asked
  // for what moved when the batch is sealed. Null: the record moves no position.
  PositionTracker* positions = nullptr;
};

// A source's positions that moved since the flow last took them. The flow seals batches in
// the order records were emitted, so "every position as of now" is exactly where the source
// stands once the batch being sealed is spooled. The delta is merged into the plugin's
// SourceState (agent/checkpoint/source_state.h) of type `type()`.
class PositionTracker {
 public:
  virtual ~PositionTracker() = default;
  virtual std::string_view type() const = 0;
  // `record` (emitted with this tracker) joined a batch.
  virtual void Advance(const LineRecord& record) { (void)record; }
  // Appends the serialized delta of what moved since the last call, then forgets it.
  virtual void TakeDelta(std::string* out) = 0;
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
  // Positions moved without a record (start_at skipping a file's history, a released file's
  // tombstone): `tracker` holds them; they take effect in order with the records emitted
  // before, once those are spooled.
  virtual void PositionsMoved(PositionTracker& tracker) = 0;
  // Where reading of an input with no position yet starts (its first sight), as a delta of
  // state `type`. Nothing emitted before concerns that input, so it takes effect at once,
  // ahead of batches still waiting (a full spool): an input seen but never read must not be
  // forgotten by a crash.
  virtual void ApplyNow(std::string_view type, std::string delta) = 0;
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
  // For /healthz: Ok, or why the source cannot do its job now. Any thread.
  virtual Status Health() const { return Status::Ok(); }
};

// Process-wide unique ids for LineRecord::source_id. Loop thread only.
inline uint64_t NextSourceId() {
  static uint64_t next = 0;
  return ++next;
}

}  // namespace logship::agent
