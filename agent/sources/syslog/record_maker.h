// Turns received syslog messages (TCP/TLS frames, UDP datagrams) into LineRecords and emits
// them: parsing, attributes, source name, event time, identity and positions.
//
// Mapping (README "Syslog source"): body = MSG; severity = the PRI's severity as an
// OpenTelemetry number; event time = TIMESTAMP; source = APP-NAME (RFC 3164: the TAG), else
// HOSTNAME, else "syslog"; attributes syslog.facility, syslog.severity (names),
// syslog.hostname, syslog.appname, syslog.procid, syslog.msgid (when present),
// syslog.sd.<SD-ID>.<PARAM-NAME> (an element without params: syslog.sd.<SD-ID> = ""), and
// syslog.peer (the sender's IP). A message that cannot be taken apart is shipped as received,
// with syslog.parse_error saying why (and its PRI's severity, when the PRI was valid).
//
// What a sender repeats in every message (facility, severity, hostname, app name, its IP)
// travels as source attributes: once per batch for each distinct combination, not once per
// record (the sinks add source attributes to every record, so rows look the same). Per-record
// attributes are only procid, msgid, structured data and parse errors. Measured: 6 attributes
// per record cost the loop thread more than parsing.
//
// Loop thread only. Everything given to the constructor must outlive the maker.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/sources/source.h"
#include "agent/sources/syslog/frame_decoder.h"
#include "agent/sources/syslog/syslog_counters.h"
#include "agent/sources/syslog/syslog_identity.h"
#include "agent/sources/syslog/syslog_message.h"
#include "agent/sources/syslog/syslog_state.h"

namespace logship::agent::syslog {

// A structured-data value longer than this is cut (and the record flagged logship.truncated):
// attributes are metadata, and the collector refuses a record with an attribute over
// limits.max_attribute_bytes (64 KiB by default).
inline constexpr size_t kMaxSdValueBytes = 16 << 10;
// Sources remembered (each distinct one is a row of a batch's sources table); when more come
// (a hostile sender inventing app names), the map starts over.
inline constexpr size_t kMaxSources = 1024;

class RecordMaker {
 public:
  // A message split into parts, between its first part and its last: the later parts carry
  // the first part's source, severity, time and attributes (copies: the source map may start
  // over meanwhile). One per TCP connection.
  struct Stream {
    bool continuing = false;
    std::string source_name;
    uint64_t source_id = 0;
    Attributes source_attributes;
    int32_t severity = 0;
    int64_t time_unix_nano = 0;
    std::vector<std::pair<std::string, std::string>> attributes;
  };

  RecordMaker(const Attributes& source_attributes, size_t max_message_bytes, SyslogIdentity& identity,
              SyslogPositions& positions, SyslogCounters& counters);
  void set_emitter(Emitter* emitter) { emitter_ = emitter; }

  // One frame of a TCP/TLS stream from `peer` (its IP), in stream order.
  void Ship(const Frame& frame, std::string_view peer, Transport transport, Stream& stream);
  // One UDP datagram: one message (in parts when longer than max_message_bytes).
  void ShipDatagram(std::string_view bytes, std::string_view peer);

 private:
  void ShipFirst(const Frame& frame, std::string_view peer, Stream& stream);
  void ShipContinuation(const Frame& frame, Stream& stream);
  void ShipBroken(const Frame& frame, std::string_view peer);
  // Fills attrs_ (per record) from msg_ (and sd_keys_).
  void BuildAttributes();
  struct Source {
    uint64_t id = 0;
    std::string name;
    Attributes attributes;  // the configured ones, then the sender's
  };
  // The source named `name` of `message` (null: one without header) received from `peer`.
  const Source& SourceOf(std::string_view name, std::string_view peer, const SyslogMessage* message);
  ParseClock Clock();
  void Emit(LineRecord& rec);

  const Attributes& source_attributes_;
  const size_t max_message_bytes_;
  SyslogIdentity& identity_;
  SyslogPositions& positions_;
  SyslogCounters& counters_;
  Emitter* emitter_ = nullptr;
  std::map<std::string, Source, std::less<>> sources_;  // key (name, sender's fields) → source
  std::string source_key_;                              // scratch, and the key of last_source_
  std::string last_key_;
  const Source* last_source_ = nullptr;                 // consecutive messages of one sender
  int64_t utc_offset_seconds_ = 0;
  int64_t utc_offset_until_ = 0;  // unix ns: re-read the zone offset after this (DST changes)
  // Per-message scratch, capacity reused.
  SyslogMessage msg_;
  std::vector<std::string> sd_keys_;
  std::vector<AttributeView> attrs_;
  std::vector<AttributeView> continuation_attrs_;
};

}  // namespace logship::agent::syslog
