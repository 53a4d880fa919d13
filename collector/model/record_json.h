// A record as one JSON object, for dead letters: what was refused, readable and complete.
// {"id":"…","source":"…","time_unix_nano":…,"observed_time_unix_nano":…,"severity":…,
//  "body":"…","attributes":{"k":"v",…},"flags":…}  (log content escaped as in json_text.h)
#pragma once

#include <string>

#include "logship/v1/record.pb.h"

namespace logship::collector {

// `batch` is the record's batch (for its source's name). Pure.
std::string RecordAsJson(const logship::v1::Batch& batch, const logship::v1::LogRecord& record);

}  // namespace logship::collector
