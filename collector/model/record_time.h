// The time a record is stored and partitioned under, and the window event times are held to.
#pragma once

#include <cstdint>

#include "logship/v1/record.pb.h"

namespace logship::collector {

// The event time when known, else the observed time (ns since 1970). Every sink keys and
// partitions by this, so a re-sent record lands where its first copy did.
inline int64_t RecordTimeNanos(const logship::v1::LogRecord& r) {
  return static_cast<int64_t>(r.time_unix_nano() != 0 ? r.time_unix_nano() : r.observed_time_unix_nano());
}

// How far an event time may lie from its record's observed time; 0 = unbounded. Event times
// come from log content, which anyone may write: outside the window a time is clamped to its
// edge and the original kept in the attribute `logship.original_time` (ns since 1970), so one
// line can neither create partitions or indices far away nor hide from "the last hour".
struct EventTimeWindow {
  int64_t max_past_ns = 0;
  int64_t max_future_ns = 0;
};

}  // namespace logship::collector
