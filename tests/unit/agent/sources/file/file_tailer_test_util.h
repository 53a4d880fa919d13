// Helpers shared by the file_tailer unit tests.
#pragma once

#include "agent/sources/file/file_tailer.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "logship/v1/record.pb.h"
#include "tests/unit/testing/temp_dir.h"

namespace logship::agent {
namespace test_util {

using testing::TempDir;
constexpr uint32_t kPartial = logship::v1::LogRecord::FLAG_PARTIAL;
constexpr uint32_t kLastPart = logship::v1::LogRecord::FLAG_LAST_PART;

// A LineRecord with owned copies of its views.
struct Captured {
  uint64_t source_id = 0;
  std::string source_name;
  const Attributes* attributes = nullptr;
  std::string body;
  RecordId id;
  int64_t observed_unix_nano = 0;
  uint32_t flags = 0;
  FilePosition next_position;
  int64_t time_unix_nano = 0;
  std::vector<std::pair<std::string, std::string>> record_attributes;
};

class RecordingEmitter : public Emitter {
 public:
  void Emit(const LineRecord& r) override {
    // The id the collector derives from the record's start position.
    records.push_back(Captured{r.source_id, std::string(r.source_name), r.attributes, std::string(r.body),
                               FileRecordId(agent, r.start_position), r.observed_unix_nano, r.flags,
                               r.next_position, r.time_unix_nano, {}});
    if (r.record_attributes != nullptr)
      for (const auto& a : *r.record_attributes) records.back().record_attributes.emplace_back(a.key, a.value);
  }
  bool Accepting() const override { return accepting; }
  void PositionsMoved(PositionTracker&) override {}
  void ApplyNow(std::string_view, std::string) override {}

  std::vector<std::string> Bodies() const {
    std::vector<std::string> out;
    for (const auto& r : records) out.push_back(r.body);
    return out;
  }
  std::vector<Captured> records;
  bool accepting = true;
  std::string agent = "agent-1";
};

inline std::unique_ptr<FileTailer> OpenTailer(const std::string& path, TailerOptions options = {}, uint64_t source_id = 7) {
  auto r = FileTailer::Open(path, source_id, options);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  return std::move(r).value();
}

inline FileTailer::ReadOutcome ReadAll(FileTailer& t, RecordingEmitter& out, const std::string& agent = "agent-1",
                                const Attributes* attrs = nullptr) {
  FileTailer::ReadOutcome o;
  out.agent = agent;
  do {
    o = t.ReadSome(1 << 20, attrs, out);
  } while (o == FileTailer::ReadOutcome::kMore);
  return o;
}

inline RecordId IdAt(const FileTailer& t, uint64_t offset, const std::string& agent = "agent-1") {
  return FileRecordId(agent, FilePosition{t.device(), t.inode(), t.fingerprint(), offset, t.generation()});
}

}  // namespace test_util
}  // namespace logship::agent
