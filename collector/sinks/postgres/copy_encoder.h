// Encodes decoded batches as PostgreSQL COPY text rows for the `logs` schema
// (../shared/design.md). Pure; thread-compatible.
//
// Bodies are bytes: invalid UTF-8 and NUL are written as the text \xNN (see common/utf8.h)
// and the row gets the attribute "logship.escaped": "true". Event time falls back to
// observed time, so ts is the same every time the same record is written.
#pragma once

#include <string>
#include <vector>

#include "collector/model/decoded_batch.h"
#include "collector/model/record_time.h"

namespace logship::collector::postgres {

// The column list the rows follow, for "COPY t (<columns>) FROM STDIN".
const char* CopyColumns();

// Appends one line per record to *out.
void EncodeCopyRows(const DecodedBatch& batch, std::string* out);

// Days (UTC, as days since the Unix epoch) that the batch's rows fall in.
std::vector<int64_t> DaysTouched(const DecodedBatch& batch);

}  // namespace logship::collector::postgres
