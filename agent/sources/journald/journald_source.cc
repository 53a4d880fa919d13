#include "agent/sources/journald/journald_source.h"

#include <cstdlib>
#include <iterator>
#include <cstring>

#include "common/clock.h"
#include "common/log.h"
#include "common/syslog_severity.h"
#include "logship/v1/record.pb.h"

namespace logship::agent {
namespace {

constexpr std::string_view kComponent = "journald-source";
constexpr int kEntriesPerTurn = 2000;
// Attribute values are metadata (a command line, a unit name): longer ones are cut and the
// record flagged, so one huge field can never make a batch the collector must refuse.
constexpr size_t kMaxAttributeValue = 16 << 10;

// Trusted (underscore) and well-known fields copied into attributes.
constexpr const char* kAttributeFields[] = {
    "_HOSTNAME", "_PID", "_UID", "_GID", "_COMM", "_EXE", "_CMDLINE", "_SYSTEMD_UNIT", "_SYSTEMD_SLICE",
    "_BOOT_ID", "_MACHINE_ID", "_TRANSPORT", "SYSLOG_IDENTIFIER", "SYSLOG_FACILITY", "PRIORITY",
};

// Copies the value of `field` in the current entry (without "FIELD=") into *out. A copy,
// because sd-journal's pointer is only valid until its next call.
bool Field(sd_journal* j, const char* field, std::string* out) {
  const void* data = nullptr;
  size_t len = 0;
  if (sd_journal_get_data(j, field, &data, &len) < 0) return false;
  const size_t prefix = std::strlen(field) + 1;
  if (len < prefix) return false;
  out->assign(static_cast<const char*>(data) + prefix, len - prefix);
  return true;
}

std::string Errno(int r) { return std::strerror(-r); }

}  // namespace

JournaldSource::JournaldSource(const JournaldSourceConfig& config, const SourceContext& context)
    : loop_(context.loop),
      config_(config),
      key_(config_.Key()),
      agent_id_(context.agent_id),
      checkpoints_(*context.checkpoints),
      state_(context.checkpoints->StateAs<JournaldState>(JournaldState::kType)),
      positions_(key_) {}

JournaldSource::~JournaldSource() { Stop(); }

Status JournaldSource::Open() {
  sd_journal* j = nullptr;
  const int r = config_.directory.empty() ? sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY)
                                          : sd_journal_open_directory(&j, config_.directory.c_str(), 0);
  if (r < 0) {
    return Status::IoError("cannot open journal " + (config_.directory.empty() ? "(system)" : config_.directory) +
                           ": " + Errno(r));
  }
  journal_.reset(j);
  sd_journal_set_data_threshold(j, 0);  // whole fields: a MESSAGE is never cut
  for (const auto& unit : config_.units) {
    const std::string m = "_SYSTEMD_UNIT=" + unit;
    if (sd_journal_add_match(j, m.data(), m.size()) < 0) return Status::InvalidArgument("bad unit filter " + unit);
  }
  if (!config_.units.empty() && !config_.priorities.empty()) sd_journal_add_conjunction(j);
  for (int p : config_.priorities) {
    const std::string m = "PRIORITY=" + std::to_string(p);
    sd_journal_add_match(j, m.data(), m.size());
  }
  return Status::Ok();
}

void JournaldSource::Position() {
  sd_journal* j = journal_.get();
  if (const std::string* cursor = state_.Find(key_)) {
    if (sd_journal_seek_cursor(j, cursor->c_str()) >= 0 && sd_journal_next(j) > 0 &&
        sd_journal_test_cursor(j, cursor->c_str()) > 0) {
      LogInfo(kComponent, "resuming " + key_ + " after its checkpointed cursor");
      return;  // positioned on the last shipped entry; Drain continues after it
    }
    ++cursor_gaps_;
    LogWarn(kComponent, "checkpointed journal entry is gone (vacuumed or rotated away); resuming " + key_ +
                            " at the oldest entry still present. Entries between are lost to logship.");
    sd_journal_seek_head(j);
    return;
  }
  if (!checkpoints_.fresh()) {
    // Not the data_dir's first start: every entry since then is new to this source (a unit
    // quiet so far, a filter added by a reload). Entries another source already shipped
    // keep their cursor-derived ids, so sinks drop them as duplicates.
    const int64_t since = checkpoints_.initialized_unix_nano();
    sd_journal_seek_realtime_usec(j, static_cast<uint64_t>(since / 1000));
    LogInfo(kComponent, "reading " + key_ + " from the agent's first start (no cursor checkpointed yet)");
    return;
  }
  if (config_.start_at_beginning) {
    sd_journal_seek_head(j);
    LogInfo(kComponent, "reading " + key_ + " from its oldest entry");
  } else {
    sd_journal_seek_tail(j);
    sd_journal_previous(j);  // onto the newest entry; only later ones are read
    LogInfo(kComponent, "reading " + key_ + " from its end");
  }
}

Status JournaldSource::Start(Emitter& emitter) {
  emitter_ = &emitter;
  if (Status s = Open(); !s.ok()) return s;
  Position();
  uv_idle_init(loop_, idle_.get());
  idle_.MarkInitialized();
  idle_.get()->data = this;
  uv_timer_init(loop_, timer_.get());
  timer_.MarkInitialized();
  timer_.get()->data = this;
  const auto interval = static_cast<uint64_t>(config_.poll_interval.count());
  uv_timer_start(timer_.get(), [](uv_timer_t* t) { static_cast<JournaldSource*>(t->data)->Wake(); }, interval,
                 interval);
  const int fd = sd_journal_get_fd(journal_.get());
  if (fd >= 0 && uv_poll_init(loop_, poll_.get(), fd) == 0) {
    poll_.MarkInitialized();
    poll_.get()->data = this;
    uv_poll_start(poll_.get(), UV_READABLE,
                  [](uv_poll_t* p, int, int) { static_cast<JournaldSource*>(p->data)->Wake(); });
  } else {
    LogWarn(kComponent, "no journal change notification; polling every " + std::to_string(interval) + " ms");
  }
  UpdateIdle();
  return Status::Ok();
}

void JournaldSource::Stop() {
  if (stopped_) return;
  stopped_ = true;
  poll_.Close();
  timer_.Close();
  idle_.Close();
}

void JournaldSource::Pause() {
  paused_ = true;
  UpdateIdle();
}

void JournaldSource::Resume() {
  paused_ = false;
  UpdateIdle();
}

void JournaldSource::Wake() {
  if (stopped_ || !journal_) return;
  sd_journal_process(journal_.get());  // acknowledges the inotify events; also picks up new files
  ready_ = true;
  UpdateIdle();
}

void JournaldSource::UpdateIdle() {
  if (stopped_ || !journal_) return;
  const bool want = ready_ && !paused_;
  if (want && !uv_is_active(idle_.handle())) {
    uv_idle_start(idle_.get(), [](uv_idle_t* h) { static_cast<JournaldSource*>(h->data)->Drain(); });
  } else if (!want && uv_is_active(idle_.handle())) {
    uv_idle_stop(idle_.get());
  }
}

void JournaldSource::Drain() {
  sd_journal* j = journal_.get();
  for (int n = 0; n < kEntriesPerTurn && !paused_; ++n) {
    const int r = sd_journal_next(j);
    if (r == 0) {
      ready_ = false;  // caught up; the fd or the timer wakes us
      emitter_->CaughtUp();
      break;
    }
    if (r < 0) {
      LogWarn(kComponent, "reading " + key_ + ": " + Errno(r) + "; retrying");
      ready_ = false;
      break;
    }
    EmitCurrent();
    if (!emitter_->Accepting()) paused_ = true;  // the pipeline resumes us
  }
  UpdateIdle();
}

void JournaldSource::EmitCurrent() {
  sd_journal* j = journal_.get();
  char* raw_cursor = nullptr;
  if (const int r = sd_journal_get_cursor(j, &raw_cursor); r < 0) {
    // Without a cursor the entry has neither an id nor a position; it cannot be shipped.
    ++errors_;
    LogError(kComponent, "cannot get the cursor of an entry in " + key_ + " (" + Errno(r) + "); entry skipped");
    return;
  }
  const std::unique_ptr<char, decltype(&std::free)> cursor(raw_cursor, &std::free);

  LineRecord rec;
  std::string& name = scratch_name_;
  if (!Field(j, "_SYSTEMD_UNIT", &name) && !Field(j, "SYSLOG_IDENTIFIER", &name) && !Field(j, "_COMM", &name))
    name = "journal";
  auto it = source_ids_.find(name);
  if (it == source_ids_.end()) it = source_ids_.emplace(name, NextSourceId()).first;
  rec.source_id = it->second;
  rec.source_name = it->first;
  rec.attributes = &config_.attributes;

  constexpr size_t kFields = std::size(kAttributeFields);
  scratch_values_.resize(kFields);
  attributes_.clear();
  bool cut = false;
  for (size_t i = 0; i < kFields; ++i) {
    std::string& v = scratch_values_[i];
    if (!Field(j, kAttributeFields[i], &v)) continue;
    if (v.size() > kMaxAttributeValue) {
      v.resize(kMaxAttributeValue);
      cut = true;
    }
    attributes_.push_back({kAttributeFields[i], v});
  }
  if (cut) attributes_.push_back({"logship.truncated", "true"});
  rec.record_attributes = &attributes_;

  std::string priority;
  if (Field(j, "PRIORITY", &priority) && priority.size() == 1 && priority[0] >= '0' && priority[0] <= '7')
    rec.severity = SeverityFromSyslogPriority(priority[0] - '0');
  uint64_t usec = 0;
  if (sd_journal_get_realtime_usec(j, &usec) >= 0) rec.time_unix_nano = static_cast<int64_t>(usec) * 1000;
  rec.observed_unix_nano = UnixNanosNow();
  if (!Field(j, "MESSAGE", &scratch_body_)) scratch_body_.clear();  // no MESSAGE: empty body, fields still arrive
  rec.has_id = true;
  rec.positions = &positions_;
  const std::string_view body = scratch_body_;
  const size_t max = config_.max_line_bytes;
  if (body.size() <= max) {
    rec.body = body;
    positions_.MovedTo(cursor.get());  // once this record is spooled, the entry is done
    rec.id = JournalRecordId(agent_id_, cursor.get());
    emitter_->Emit(rec);
    return;
  }
  // A MESSAGE longer than max_line_bytes becomes flagged parts, like a long file line: one
  // batch never has to hold it whole. Part i > 0 has an id of its own.
  const size_t parts = (body.size() + max - 1) / max;
  for (size_t i = 0; i < parts; ++i) {
    rec.body = body.substr(i * max, max);
    rec.flags = logship::v1::LogRecord::FLAG_PARTIAL | (i + 1 == parts ? logship::v1::LogRecord::FLAG_LAST_PART : 0);
    // Done with the entry only once its last part is spooled: a crash in between reads it
    // again, and the parts already stored keep their ids.
    if (i + 1 == parts) positions_.MovedTo(cursor.get());
    rec.id = i == 0 ? JournalRecordId(agent_id_, cursor.get())
                    : JournalRecordId(agent_id_, std::string(cursor.get()) + "\x1fpart=" + std::to_string(i));
    emitter_->Emit(rec);
  }
}

}  // namespace logship::agent
