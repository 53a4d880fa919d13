#include "common/record_id.h"

#include <xxhash.h>

#include <cstring>

namespace logship {
namespace {

void PutU64(std::string& s, uint64_t v) {
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

RecordId IdFromKey(std::string_view key) {
  const XXH128_hash_t h = XXH3_128bits(key.data(), key.size());
  RecordId id;
  for (int i = 0; i < 8; ++i) {
    id.bytes[i] = static_cast<uint8_t>(h.high64 >> (56 - 8 * i));
    id.bytes[8 + i] = static_cast<uint8_t>(h.low64 >> (56 - 8 * i));
  }
  return id;
}

}  // namespace

std::string RecordId::ToUuid() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 0xf]);
  }
  return out;
}

bool RecordId::FromBytes(std::string_view b, RecordId* out) {
  if (b.size() != out->bytes.size()) return false;
  std::memcpy(out->bytes.data(), b.data(), b.size());
  return true;
}

RecordId FileRecordId(std::string_view agent_id, const FilePosition& pos) {
  // Canonical, versioned encoding: changing it would re-key every record, so don't.
  // "logship.file.v1", len(agent_id), agent_id, device, inode, fingerprint, offset; the
  // integers as 8 little-endian bytes. A later generation (> 0) uses "logship.file.v2" and
  // appends it. Built on the stack: the collector derives one id per file record, so this
  // runs a million times a second.
  const bool v2 = pos.generation != 0;
  const std::string_view tag = v2 ? "logship.file.v2" : "logship.file.v1";
  const size_t size = tag.size() + 8 + agent_id.size() + 32 + (v2 ? 8 : 0);
  char stack[256];
  std::string heap;
  char* key = stack;
  if (size > sizeof stack) {
    heap.resize(size);
    key = heap.data();
  }
  char* p = key;
  const auto put = [&p](uint64_t v) {
    for (int i = 0; i < 8; ++i) *p++ = static_cast<char>((v >> (8 * i)) & 0xff);
  };
  std::memcpy(p, tag.data(), tag.size());
  p += tag.size();
  put(agent_id.size());
  if (!agent_id.empty()) std::memcpy(p, agent_id.data(), agent_id.size());
  p += agent_id.size();
  put(pos.device);
  put(pos.inode);
  put(pos.fingerprint);
  put(pos.offset);
  if (v2) put(pos.generation);
  return IdFromKey(std::string_view(key, size));
}

RecordId JournalRecordId(std::string_view agent_id, std::string_view cursor) {
  std::string key;
  key.reserve(agent_id.size() + cursor.size() + 32);
  key.append("logship.journal.v1");
  PutU64(key, agent_id.size());
  key.append(agent_id);
  PutU64(key, cursor.size());
  key.append(cursor);
  return IdFromKey(key);
}

RecordId BoundRecordId(std::string_view principal, const RecordId& id) {
  std::string key("logship.bound.v1");
  PutU64(key, principal.size());
  key.append(principal);
  key.append(id.AsBytes());
  return IdFromKey(key);
}

RecordId ContentRecordId(std::string_view canonical_content) {
  std::string key("logship.content.v1");
  key.append(canonical_content);
  return IdFromKey(key);
}

}  // namespace logship
