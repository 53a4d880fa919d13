#include "collector/server/record_identity.h"

#include <limits>
#include <vector>

#include "common/record_id.h"

namespace logship::collector {
namespace {

// set_id(data, size) would build a temporary std::string and copy it into the arena's: two
// allocations per record where assign() into the field's own string takes one.
void SetId(logship::v1::LogRecord& r, const RecordId& id) {
  r.mutable_id()->assign(id.AsBytes());
}

}  // namespace

Status ResolveRecordIdentity(logship::v1::Batch* batch, std::string_view principal, bool assign) {
  const std::string_view agent = principal.empty() ? std::string_view(batch->agent_id()) : principal;
  std::vector<uint64_t> next_offset(static_cast<size_t>(batch->sources_size()), 0);
  uint64_t observed = 0;
  for (auto& r : *batch->mutable_records()) {
    if (r.observed_time_unix_nano() == 0) r.set_observed_time_unix_nano(observed);
    observed = r.observed_time_unix_nano();
    if (!r.id().empty()) {
      if (r.id().size() != 16) return Status::InvalidArgument("record id must be 16 bytes");
      if (!principal.empty() && assign) {
        RecordId id;
        RecordId::FromBytes(r.id(), &id);
        id = BoundRecordId(principal, id);
        SetId(r, id);
      }
      continue;
    }
    const auto& source = batch->sources(static_cast<int>(r.source_index()));
    if (!source.has_file()) return Status::InvalidArgument("record has no id and its source no file identity");
    uint64_t& next = next_offset[r.source_index()];
    const int64_t delta = r.offset_delta();
    if ((delta < 0 && static_cast<uint64_t>(-(delta + 1)) + 1 > next) ||
        (delta > 0 && static_cast<uint64_t>(delta) > std::numeric_limits<uint64_t>::max() - next))
      return Status::InvalidArgument("record offset out of range");
    const uint64_t offset = next + static_cast<uint64_t>(delta);
    if (assign) {
      const auto& f = source.file();
      SetId(r, FileRecordId(agent, FilePosition{f.device(), f.inode(), f.fingerprint(), offset, f.generation()}));
      r.clear_offset_delta();
    }
    if (r.body().size() >= std::numeric_limits<uint64_t>::max() - offset)
      return Status::InvalidArgument("record offset out of range");
    next = offset + r.body().size() + 1;
  }
  return Status::Ok();
}

}  // namespace logship::collector
