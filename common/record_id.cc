#include "common/record_id.h"

#include <xxhash.h>

#include <bit>
#include <cstring>
#include <memory>

namespace logship {
namespace {

// v as 8 bytes of the given order, at p; returns the end. (A memcpy of the whole word, not a
// byte loop: the collector derives a million ids a second.)
char* PutU64(char* p, uint64_t v, std::endian order) {
  if (order != std::endian::native) v = __builtin_bswap64(v);
  std::memcpy(p, &v, sizeof v);
  return p + sizeof v;
}

void PutU64(std::string& s, uint64_t v) {  // little-endian
  char bytes[8];
  PutU64(bytes, v, std::endian::little);
  s.append(bytes, sizeof bytes);
}

RecordId IdFromKey(std::string_view key) {
  const XXH128_hash_t h = XXH3_128bits(key.data(), key.size());
  RecordId id;  // high 64 bits then low, each big-endian
  auto* p = reinterpret_cast<char*>(id.bytes.data());
  PutU64(PutU64(p, h.high64, std::endian::big), h.low64, std::endian::big);
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
  std::unique_ptr<char[]> heap;  // an agent id over ~190 bytes
  char* key = stack;
  if (size > sizeof stack) {
    heap = std::make_unique_for_overwrite<char[]>(size);
    key = heap.get();
  }
  char* p = key;
  std::memcpy(p, tag.data(), tag.size());
  p = PutU64(p + tag.size(), agent_id.size(), std::endian::little);
  if (!agent_id.empty()) std::memcpy(p, agent_id.data(), agent_id.size());
  p += agent_id.size();
  for (uint64_t v : {pos.device, pos.inode, pos.fingerprint, pos.offset}) p = PutU64(p, v, std::endian::little);
  if (v2) PutU64(p, pos.generation, std::endian::little);
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
