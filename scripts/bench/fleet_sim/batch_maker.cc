#include <sstream>

#include "logship/v1/record.pb.h"
#include "scripts/bench/fleet_sim/fleet.h"

namespace fleet_sim {

std::vector<std::string> MakeLines(std::mt19937_64& rng) {
  static const char* kLevels[] = {"INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"};
  static const char* kPaths[] = {"/api/v1/items", "/api/v1/orders", "/healthz", "/api/v2/search", "/login"};
  static const char* kWords[] = {"cache", "miss", "retry", "upstream", "timeout", "user", "session", "token",
                                 "queue", "flush", "commit", "lease", "shard", "replica", "backoff"};
  std::vector<std::string> lines;
  for (int i = 0; i < 4096; ++i) {
    std::ostringstream s;
    s << "2026-11-30T08:" << (rng() % 60) << ":" << (rng() % 60) << "." << (rng() % 1000) << "Z "
      << kLevels[rng() % 6] << " [worker-" << (rng() % 32) << "] ";
    if (rng() % 2) {
      s << "GET " << kPaths[rng() % 5] << "/" << (rng() % 100000) << " " << (rng() % 5 ? 200 : 503) << " "
        << (rng() % 900) << "ms user=u" << (rng() % 10000) << " trace=" << std::hex << rng() << std::dec;
    } else {
      const int words = 4 + static_cast<int>(rng() % 30);
      for (int w = 0; w < words; ++w)
        s << kWords[rng() % 15] << (w % 5 == 4 ? "=" : " ") << (w % 7 == 0 ? std::to_string(rng() % 1000) + " " : "");
    }
    lines.push_back(s.str());
  }
  return lines;
}

std::shared_ptr<BatchFrame> MakeFrame(Agent& a, uint32_t n, const std::vector<std::string>& lines,
                                      std::mt19937_64& rng, logship::ZstdCompressor& zstd) {
  logship::v1::Batch batch;
  batch.set_agent_id(a.id);
  batch.set_host(a.id + ".fleet.example");
  auto* src = batch.add_sources();
  src->set_name("/var/log/app/service.log");
  src->mutable_file()->set_device(64769);
  src->mutable_file()->set_inode(1000 + static_cast<uint64_t>(a.index));
  src->mutable_file()->set_fingerprint(0x5eed0000 + static_cast<uint64_t>(a.index));
  src->mutable_file()->set_generation(1);
  const uint64_t now_ns = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  for (uint32_t i = 0; i < n; ++i) {
    auto* r = batch.add_records();
    const std::string& body = lines[rng() % lines.size()];
    r->set_body(body);
    r->set_observed_time_unix_nano(now_ns);
    if (i == 0) r->set_offset_delta(static_cast<int64_t>(a.offset));
    a.offset += body.size() + 1;
  }
  std::string raw;
  batch.SerializeToString(&raw);
  auto f = std::make_shared<BatchFrame>();
  f->set_agent_id(a.id);
  f->set_sequence(++a.sequence);
  f->set_codec(logship::v1::CODEC_ZSTD);
  f->set_record_count(n);
  f->set_uncompressed_bytes(raw.size());
  if (!zstd.Compress(raw, f->mutable_payload()).ok()) std::abort();
  return f;
}

}  // namespace fleet_sim
