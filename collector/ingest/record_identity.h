// Fills in what an agent leaves out of a Batch to keep it small (rules in
// proto/logship/v1/record.proto): the ids of file records, derived from their source's
// FileIdentity and offset exactly as the agent would have computed them, and observed times
// carried over from the previous record. After this every record has a 16-byte id and an
// observed time, so pipeline and sinks never see the compact form. Pure.
#pragma once

#include "common/status.h"
#include "logship/v1/record.pb.h"

namespace logship::collector {

// InvalidArgument when a record has neither an id nor a source with a file identity, when
// an id is not 16 bytes, or when offsets go out of range. Source indexes must be valid.
Status ResolveRecordIdentity(logship::v1::Batch* batch);

}  // namespace logship::collector
