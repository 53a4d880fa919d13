#include "agent/sources/syslog/syslog_identity.h"

#include <sys/random.h>
#include <unistd.h>
#include <xxhash.h>

#include <cstring>
#include <fstream>

#include "common/clock.h"
#include "common/log.h"

namespace logship::agent::syslog {
namespace {

void PutU64(std::string& s, uint64_t v) {
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

}  // namespace

Nonce SyslogIdentity::RandomNonce(bool* strong) {
  Nonce n{};
  if (getrandom(n.data(), n.size(), GRND_NONBLOCK) == static_cast<ssize_t>(n.size())) {
    *strong = true;
    return n;
  }
  *strong = false;
  std::string seed;
  PutU64(seed, static_cast<uint64_t>(UnixNanosNow()));
  PutU64(seed, static_cast<uint64_t>(MonotonicNanos()));
  PutU64(seed, static_cast<uint64_t>(::getpid()));
  std::ifstream boot("/proc/sys/kernel/random/boot_id");
  std::string boot_id;
  std::getline(boot, boot_id);
  seed.append(boot_id);
  const XXH128_hash_t h = XXH3_128bits(seed.data(), seed.size());
  std::memcpy(n.data(), &h.high64, 8);
  std::memcpy(n.data() + 8, &h.low64, 8);
  return n;
}

SyslogIdentity::SyslogIdentity(std::string_view agent_id, std::string_view key, uint64_t last_sequence)
    : SyslogIdentity(agent_id, key, last_sequence, [] {
        bool strong = true;
        Nonce n = RandomNonce(&strong);
        if (!strong) LogWarn("syslog-source", "the kernel's random pool is not ready; record id nonce taken from clocks");
        return n;
      }()) {}

SyslogIdentity::SyslogIdentity(std::string_view agent_id, std::string_view key, uint64_t last_sequence,
                               const Nonce& nonce)
    : nonce_(nonce), sequence_(last_sequence) {
  // Canonical, versioned encoding (changing it re-keys records): the tag, then length-prefixed
  // agent id and key, the nonce, and (per record) the sequence; integers 8 bytes little-endian.
  prefix_.append("logship.syslog.v1");
  PutU64(prefix_, agent_id.size());
  prefix_.append(agent_id);
  PutU64(prefix_, key.size());
  prefix_.append(key);
  prefix_.append(reinterpret_cast<const char*>(nonce_.data()), nonce_.size());
}

uint64_t SyslogIdentity::Next(RecordId* id) {
  ++sequence_;
  char key[512];
  std::string heap;
  const size_t size = prefix_.size() + 8;
  char* p = key;
  if (size > sizeof key) {
    heap.resize(size);
    p = heap.data();
  }
  std::memcpy(p, prefix_.data(), prefix_.size());
  for (int i = 0; i < 8; ++i) p[prefix_.size() + i] = static_cast<char>((sequence_ >> (8 * i)) & 0xff);
  const XXH128_hash_t h = XXH3_128bits(p, size);
  for (int i = 0; i < 8; ++i) {
    id->bytes[i] = static_cast<uint8_t>(h.high64 >> (56 - 8 * i));
    id->bytes[8 + i] = static_cast<uint8_t>(h.low64 >> (56 - 8 * i));
  }
  return sequence_;
}

}  // namespace logship::agent::syslog
