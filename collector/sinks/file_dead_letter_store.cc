#include "collector/sinks/file_dead_letter_store.h"

#include <fcntl.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <unistd.h>

#include <ctime>

#include "common/file_util.h"
#include "common/json_text.h"
#include "common/log.h"
#include "common/clock.h"
#include "common/time_format.h"

namespace logship::collector {
namespace {

void Field(rapidjson::Writer<rapidjson::StringBuffer>& w, const char* key, const std::string& value) {
  std::string scratch;
  w.Key(key);
  WriteJsonText(w, value, &scratch);
}

}  // namespace

FileDeadLetterStore::FileDeadLetterStore(std::string dir, std::string sink, uint64_t max_bytes)
    : dir_(std::move(dir)), path_(dir_ + "/" + sink + "-dead-letter.ndjson"), max_bytes_(max_bytes) {}

Result<size_t> FileDeadLetterStore::Store(const std::vector<DeadLetter>& letters) {
  if (letters.empty()) return size_t{0};
  const std::string now = FormatUtc(UnixNanosNow(), 0);
  MutexLock lock(mu_);
  std::string text;
  std::vector<const std::string*> added;
  for (const auto& l : letters) {
    if (recent_.count(l.id) != 0) continue;
    added.push_back(&l.id);
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("received_at");
    w.String(now.c_str());
    Field(w, "sink", l.sink);
    Field(w, "agent_id", l.agent_id);
    Field(w, "id", l.id);
    Field(w, "code", l.code);
    Field(w, "error", l.error);
    Field(w, "payload", l.payload);
    w.EndObject();
    text.append(buf.GetString(), buf.GetSize()).push_back('\n');
  }
  if (text.empty()) return size_t{0};
  if (Status s = MakeDirs(dir_); !s.ok()) return s;
  UniqueFd fd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!fd.valid()) return Status::FromErrno("open " + path_, errno);
  const off_t start = ::lseek(fd.get(), 0, SEEK_END);
  if (start >= 0 && static_cast<uint64_t>(start) + text.size() > max_bytes_) {
    // Full: these are counted and dropped, never allowed to fill the disk.
    if (dropped_.fetch_add(letters.size()) == 0)
      LogError("dead-letter", path_ + " reached its limit of " + std::to_string(max_bytes_) +
                                  " bytes; further refused records are counted, not kept");
    return size_t{0};
  }
  if (Status s = WriteAll(fd.get(), text); !s.ok()) {
    if (start >= 0 && ::ftruncate(fd.get(), start) != 0) {}  // no torn line left behind (disk full)
    return s;
  }
  if (::fsync(fd.get()) != 0) return Status::FromErrno("fsync " + path_, errno);
  if (Status s = SyncDir(dir_); !s.ok()) return s;  // the file's own entry, the first time
  for (const std::string* id : added) {
    if (!recent_.insert(*id).second) continue;
    recent_order_.push_back(*id);
    if (recent_order_.size() > kRecentIds) {
      recent_.erase(recent_order_.front());
      recent_order_.pop_front();
    }
  }
  return added.size();
}

}  // namespace logship::collector
