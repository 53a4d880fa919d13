// Fuzzes the file tailer's line splitting and multiline grouping on arbitrary bytes,
// checking the invariants: every byte up to the last newline comes out exactly once, in
// order, and no record exceeds max_line_bytes (plus grouping).
#include <sys/mman.h>

#include <cstdint>
#include <string>

#include "agent/sources/file/file_tailer.h"
#include "common/file_util.h"
#include "logship/v1/record.pb.h"

namespace {

class Collect final : public logship::agent::Emitter {
 public:
  void Emit(const logship::agent::LineRecord& r) override {
    if (r.next_position.offset <= last_end && !records.empty()) __builtin_trap();  // positions only advance
    last_end = r.next_position.offset;
    records.emplace_back(r.body);
  }
  bool Accepting() const override { return true; }
  void PositionsMoved(logship::agent::PositionTracker&) override {}
  void ApplyNow(std::string_view, std::string) override {}
  std::vector<std::string> records;
  uint64_t last_end = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const logship::agent::MultilineOptions* multiline = [] {
    auto* o = new logship::agent::MultilineOptions;
    o->start_pattern = std::make_shared<RE2>("^[0-9]");
    o->max_lines = 4;
    o->max_bytes = 64;
    return o;
  }();
  for (bool group : {false, true}) {
    logship::UniqueFd fd(memfd_create("log", 0));
    if (!logship::WriteAll(fd.get(), std::string_view(reinterpret_cast<const char*>(data), size)).ok()) return 0;
    const std::string path = "/proc/self/fd/" + std::to_string(fd.get());
    logship::agent::TailerOptions opts;
    opts.fingerprint_bytes = 16;
    opts.max_line_bytes = 32;
    opts.read_chunk = 7;  // tiny reads: every boundary case
    if (group) opts.multiline = multiline;
    auto tailer = logship::agent::FileTailer::Open(path, 1, opts);
    if (!tailer.ok()) return 0;
    Collect out;
    if ((*tailer)->Identify()) {
      (*tailer)->SeekTo(0);
      while ((*tailer)->ReadSome(1 << 20, nullptr, out) == logship::agent::FileTailer::ReadOutcome::kMore) {
      }
      (*tailer)->FlushPending(true, nullptr, out);
    }
    for (const auto& r : out.records)
      if (!group && r.size() > opts.max_line_bytes) __builtin_trap();
  }
  return 0;
}
