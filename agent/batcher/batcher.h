// Groups records into a logship.v1.Batch, then serializes and zstd-compresses it.
// Alongside it collects the checkpoint delta: where each file stands after the batch's
// last record from it (see agent/spool/FORMAT.md for why it travels with the frame).
// Loop thread only.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <unordered_map>

#include "agent/agent_config.h"
#include "agent/sources/source.h"
#include "common/status.h"
#include "common/zstd_codec.h"
#include "logship/agent/v1/checkpoint.pb.h"
#include "logship/v1/record.pb.h"

namespace logship::agent {

struct SealedBatch {
  std::string payload;               // zstd frame of the serialized Batch
  uint32_t record_count = 0;
  uint32_t uncompressed_bytes = 0;
  std::string meta;                  // serialized checkpoint delta
  v1::Checkpoints delta;
};

class Batcher {
 public:
  Batcher(const BatchConfig& config, int zstd_level, std::string agent_id, std::string host);

  // Adds a record. True when the batch is full (max_records or max_bytes) and should be sealed.
  bool Add(const LineRecord& record);
  bool empty() const { return batch_.records_size() == 0; }
  size_t records() const { return static_cast<size_t>(batch_.records_size()); }

  // Serializes and compresses the batch, then starts an empty one. REQUIRES: !empty().
  Result<SealedBatch> Seal();

 private:
  const BatchConfig config_;
  const std::string agent_id_;
  const std::string host_;
  ZstdCompressor compressor_;
  logship::v1::Batch batch_;
  uint64_t approx_bytes_ = 0;
  // Index in batch_.sources of a record's source: journal records by source_id; file records
  // by source_id and file identity (their ids are derived from it at the collector).
  uint32_t SourceIndex(const LineRecord& r);
  struct FileSource {
    uint32_t index = 0;
    uint64_t next_offset = 0;  // where the previous record of this source ended (+1, the newline)
  };
  using FileKey = std::tuple<uint64_t, uint64_t, uint64_t, uint64_t>;  // source_id, device, inode, fingerprint
  std::unordered_map<uint64_t, uint32_t> source_index_;  // source_id → index in batch_.sources
  std::map<FileKey, FileSource> file_sources_;
  FileKey last_key_{};                 // a one-entry cache: runs of lines come from one file
  FileSource* last_file_ = nullptr;
  uint64_t last_observed_ = 0;         // observed time of the previous record in the batch
  std::map<std::pair<uint64_t, uint64_t>, v1::FileCheckpoint> positions_;
  std::map<std::string, std::string, std::less<>> cursors_;  // journal key → cursor
  std::string serialized_;
};

}  // namespace logship::agent
