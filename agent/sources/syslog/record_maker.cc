#include "agent/sources/syslog/record_maker.h"

#include <ctime>

#include "common/clock.h"
#include "common/syslog_severity.h"
#include "logship/v1/record.pb.h"

namespace logship::agent::syslog {
namespace {

constexpr uint32_t kPartial = logship::v1::LogRecord::FLAG_PARTIAL;
constexpr uint32_t kLastPart = logship::v1::LogRecord::FLAG_LAST_PART;
constexpr int64_t kOffsetRefreshNanos = 60'000'000'000;
constexpr std::string_view kFallbackName = "syslog";

int32_t SeverityOf(const SyslogMessage& m) { return m.pri < 0 ? 0 : SeverityFromSyslogPriority(m.severity()); }

}  // namespace

RecordMaker::RecordMaker(const Attributes& source_attributes, size_t max_message_bytes, SyslogIdentity& identity,
                         SyslogPositions& positions, SyslogCounters& counters)
    : source_attributes_(source_attributes),
      max_message_bytes_(max_message_bytes),
      identity_(identity),
      positions_(positions),
      counters_(counters) {}

ParseClock RecordMaker::Clock() {
  const int64_t now = UnixNanosNow();
  if (now >= utc_offset_until_) {
    // RFC 3164 times are the sender's local time; the agent's zone is the best guess (a
    // relay in another zone should send RFC 5424). Re-read each minute for DST changes.
    const time_t t = static_cast<time_t>(now / 1'000'000'000);
    struct tm local {};
    utc_offset_seconds_ = localtime_r(&t, &local) != nullptr ? local.tm_gmtoff : 0;
    utc_offset_until_ = now + kOffsetRefreshNanos;
  }
  return ParseClock{now, utc_offset_seconds_};
}

const RecordMaker::Source& RecordMaker::SourceOf(std::string_view name, std::string_view peer,
                                                 const SyslogMessage* message) {
  static const SyslogMessage kNone;
  const SyslogMessage& m = message != nullptr ? *message : kNone;
  const std::string_view facility = FacilityName(m.facility());
  const std::string_view severity = SeverityName(m.severity());
  // The key: every field that goes into the source, NUL-separated (they hold no NUL).
  source_key_.assign(name).append(1, '\0').append(facility).append(1, '\0').append(severity).append(1, '\0');
  source_key_.append(m.hostname).append(1, '\0').append(m.appname).append(1, '\0').append(peer);
  if (last_source_ != nullptr && source_key_ == last_key_) return *last_source_;
  auto it = sources_.find(source_key_);
  if (it == sources_.end()) {
    if (sources_.size() >= kMaxSources) sources_.clear();
    Source s{NextSourceId(), std::string(name), source_attributes_};
    const auto add = [&s](std::string_view key, std::string_view value) {
      if (!value.empty()) s.attributes.emplace_back(key, value);
    };
    add("syslog.facility", facility);
    add("syslog.severity", severity);
    add("syslog.hostname", m.hostname);
    add("syslog.appname", m.appname);
    add("syslog.peer", peer);
    it = sources_.emplace(source_key_, std::move(s)).first;
  }
  last_key_ = source_key_;
  last_source_ = &it->second;
  return it->second;
}

void RecordMaker::Emit(LineRecord& rec) {
  rec.has_id = true;
  positions_.MovedTo(identity_.Next(&rec.id));  // once this record is spooled, the source stands there
  rec.positions = &positions_;
  emitter_->Emit(rec);
}

void RecordMaker::BuildAttributes() {
  const SyslogMessage& m = msg_;
  attrs_.clear();
  if (!m.procid.empty()) attrs_.push_back({"syslog.procid", m.procid});
  if (!m.msgid.empty()) attrs_.push_back({"syslog.msgid", m.msgid});
  bool cut = m.sd_truncated;
  if (sd_keys_.size() < m.sd.size()) sd_keys_.resize(m.sd.size());
  for (size_t i = 0; i < m.sd.size(); ++i) {
    const SdParam& p = m.sd[i];
    std::string& key = sd_keys_[i];
    key.assign("syslog.sd.").append(p.id);
    if (!p.name.empty()) key.append(".").append(p.name);
    std::string_view value = p.value;
    if (value.size() > kMaxSdValueBytes) {
      value = value.substr(0, kMaxSdValueBytes);
      cut = true;
    }
    attrs_.push_back({key, value});
  }
  if (cut) attrs_.push_back({"logship.truncated", "true"});
  if (!m.error.empty()) attrs_.push_back({"syslog.parse_error", m.error});
}

void RecordMaker::ShipFirst(const Frame& frame, std::string_view peer, Stream& stream) {
  const ParseClock clock = Clock();
  // A first part ends where the cut fell: its last bytes are content, not a trailer.
  ParseSyslog((frame.flags & kPartial) ? frame.bytes : TrimTrailer(frame.bytes), clock, &msg_);
  if (msg_.format == SyslogMessage::Format::kUnparsed) counters_.parse_failures.fetch_add(1, std::memory_order_relaxed);
  BuildAttributes();
  const std::string_view name = !msg_.appname.empty()    ? msg_.appname
                                : !msg_.hostname.empty() ? msg_.hostname
                                                         : kFallbackName;
  const Source& source = SourceOf(name, peer, &msg_);
  LineRecord rec;
  rec.source_id = source.id;
  rec.source_name = source.name;
  rec.attributes = &source.attributes;
  rec.record_attributes = &attrs_;
  rec.body = msg_.msg;
  rec.time_unix_nano = msg_.time_unix_nano;
  rec.observed_unix_nano = clock.now_unix_nano;
  rec.severity = SeverityOf(msg_);
  rec.flags = frame.flags;
  if (frame.flags & kPartial) {
    // The first part of a long message: its later parts carry the same header (copied, as
    // the views die with this frame).
    counters_.split_messages.fetch_add(1, std::memory_order_relaxed);
    stream.continuing = true;
    stream.source_name = source.name;
    stream.source_id = source.id;
    stream.source_attributes = source.attributes;
    stream.severity = rec.severity;
    stream.time_unix_nano = rec.time_unix_nano;
    stream.attributes.clear();
    for (const auto& a : attrs_) stream.attributes.emplace_back(a.key, a.value);
  }
  Emit(rec);
}

void RecordMaker::ShipContinuation(const Frame& frame, Stream& stream) {
  continuation_attrs_.clear();
  for (const auto& [k, v] : stream.attributes) continuation_attrs_.push_back({k, v});
  LineRecord rec;
  rec.source_id = stream.source_id;
  rec.source_name = stream.source_name;
  rec.attributes = &stream.source_attributes;
  rec.record_attributes = &continuation_attrs_;
  rec.body = (frame.flags & kLastPart) ? TrimTrailer(frame.bytes) : frame.bytes;
  rec.time_unix_nano = stream.time_unix_nano;
  rec.observed_unix_nano = UnixNanosNow();
  rec.severity = stream.severity;
  rec.flags = frame.flags;
  if (frame.flags & kLastPart) stream.continuing = false;
  Emit(rec);
}

void RecordMaker::ShipBroken(const Frame& frame, std::string_view peer) {
  const Source& source = SourceOf(kFallbackName, peer, nullptr);  // no header: the peer only
  attrs_.clear();
  attrs_.push_back({"syslog.parse_error", frame.broken});
  LineRecord rec;
  rec.source_id = source.id;
  rec.source_name = source.name;
  rec.attributes = &source.attributes;
  rec.record_attributes = &attrs_;
  rec.body = frame.bytes;
  rec.observed_unix_nano = UnixNanosNow();
  rec.flags = frame.flags;
  Emit(rec);
}

void RecordMaker::Ship(const Frame& frame, std::string_view peer, Transport transport, Stream& stream) {
  const bool first = !stream.continuing;
  if (first) counters_.Received(transport);
  if (frame.broken != nullptr) {
    stream.continuing = (frame.flags & kPartial) && !(frame.flags & kLastPart);
    ShipBroken(frame, peer);
    return;
  }
  if (!first) {
    ShipContinuation(frame, stream);
    return;
  }
  ShipFirst(frame, peer, stream);
}

void RecordMaker::ShipDatagram(std::string_view bytes, std::string_view peer) {
  Stream stream;
  const size_t max = max_message_bytes_;
  if (bytes.size() <= max) {
    Ship(Frame{bytes, 0, nullptr}, peer, Transport::kUdp, stream);
    return;
  }
  for (size_t off = 0; off < bytes.size(); off += max) {
    const bool last = off + max >= bytes.size();
    Ship(Frame{bytes.substr(off, max), kPartial | (last ? kLastPart : 0), nullptr}, peer, Transport::kUdp, stream);
  }
}

}  // namespace logship::agent::syslog
