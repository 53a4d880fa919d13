// Record identity: a stable 128-bit id derived only from where a record came from, so
// reading the same line twice yields the same id. Sinks use it as an idempotency key.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace logship {

struct RecordId {
  std::array<uint8_t, 16> bytes{};

  // Canonical lower-case UUID text (8-4-4-4-12), as stored in PostgreSQL's uuid column.
  std::string ToUuid() const;
  std::string_view AsBytes() const { return {reinterpret_cast<const char*>(bytes.data()), bytes.size()}; }
  static bool FromBytes(std::string_view b, RecordId* out);
  friend bool operator==(const RecordId&, const RecordId&) = default;
};

// Where a file line came from. `fingerprint` identifies the file's content start,
// `device`/`inode` its on-disk identity, `generation` how often it was truncated or rewritten
// under the same first line, `offset` the byte offset of the line's first byte.
struct FilePosition {
  uint64_t device = 0;
  uint64_t inode = 0;
  uint64_t fingerprint = 0;
  uint64_t offset = 0;
  uint64_t generation = 0;
};

// Generation 0 keeps the original (v1) key, so ids of existing data never change.
RecordId FileRecordId(std::string_view agent_id, const FilePosition& pos);
// A journal entry is named by its cursor, stable across re-reads of the same journal files.
RecordId JournalRecordId(std::string_view agent_id, std::string_view cursor);
// Records with no stable position (OTLP): a hash of their canonical content and resource.
// The same record sent twice gets the same id; two identical records get one.
RecordId ContentRecordId(std::string_view canonical_content);
// An id bound to the authenticated sender: what a client cannot pick for another agent's
// records (the collector applies it to every id that travels on the wire when tokens or
// client certificates authenticate the sender).
RecordId BoundRecordId(std::string_view principal, const RecordId& id);

}  // namespace logship
