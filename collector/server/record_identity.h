// Fills in what an agent leaves out of a Batch to keep it small (rules in
// proto/logship/v1/record.proto): the ids of file records, derived from their source's
// FileIdentity and offset exactly as the agent would have computed them, and observed times
// carried over from the previous record. After this every record has a 16-byte id and an
// observed time, so pipeline and sinks never see the compact form. Pure.
#pragma once

#include <string_view>

#include "common/status.h"
#include "logship/v1/record.pb.h"

namespace logship::collector {

// InvalidArgument when a record has neither an id nor a source with a file identity, when
// an id is not 16 bytes, or when offsets go out of range. Source indexes must be valid.
//
// `principal`: who the collector authenticated (a token's agent, a client certificate's
// name), or "" when nobody is. With a principal, file ids are derived from it rather than
// from the batch's agent_id, and every id that travelled on the wire is bound to it
// (BoundRecordId), so no sender can pick the ids of another agent's records.
//
// `assign` false: every check runs and observed times are filled, but ids stay as they came
// (for a batch only ever forwarded as its frame: whoever decodes the frame derives them).
Status ResolveRecordIdentity(logship::v1::Batch* batch, std::string_view principal = {}, bool assign = true);

}  // namespace logship::collector
