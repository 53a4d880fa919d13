// A syslog message taken apart: RFC 5424 (VERSION 1), RFC 3164 (BSD), or neither (then it
// is shipped raw, flagged). Parsing is pure, bounded by the input (no allocation beyond the
// message's own size) and never fails: what it cannot take apart it says why.
// Thread-compatible; views point into the parsed input and into `arena`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/time_parse.h"

namespace logship::agent::syslog {

// At most this many SD-PARAMs of one message become attributes (the collector refuses a
// record with more than limits.max_attributes, 256 by default, so a hostile sender must not
// get near it); the rest are dropped and `sd_truncated` says so.
inline constexpr size_t kMaxSdParams = 64;

// One SD-PARAM (or an SD-ELEMENT without params: `name` empty).
struct SdParam {
  std::string_view id;
  std::string_view name;
  std::string_view value;  // unescaped (\" \\ \] → " \ ])
};

struct SyslogMessage {
  enum class Format { kRfc5424, kRfc3164, kUnparsed };

  SyslogMessage() = default;
  // Views may point into `arena`, whose bytes a copy or move would not keep in place (short
  // strings live inside the object): a parsed message stays where it was parsed.
  SyslogMessage(const SyslogMessage&) = delete;
  SyslogMessage& operator=(const SyslogMessage&) = delete;

  Format format = Format::kUnparsed;
  int pri = -1;                   // 0..191 (facility * 8 + severity); -1: no valid PRI
  int64_t time_unix_nano = 0;     // 0: none (NILVALUE, no timestamp, out of range)
  std::string_view hostname;      // empty: absent (NILVALUE)
  std::string_view appname;       // RFC 3164: the TAG
  std::string_view procid;        // RFC 3164: the [pid]
  std::string_view msgid;
  std::string_view msg;           // the body; kUnparsed: the whole message as received
  std::vector<SdParam> sd;
  bool sd_truncated = false;      // more than kMaxSdParams
  std::string_view error;         // kUnparsed: why (a static string)
  std::string arena;              // unescaped SD values live here

  int facility() const { return pri < 0 ? -1 : pri >> 3; }
  int severity() const { return pri < 0 ? -1 : pri & 7; }
};

// Takes `raw` apart into *out (cleared first; its capacity is reused).
// REQUIRES: `raw` outlives the use of *out's views.
void ParseSyslog(std::string_view raw, const ParseClock& clock, SyslogMessage* out);

// `raw` without trailing LF, CR and NUL: they end a message, they are not part of it (UDP
// senders, octet-counting senders and CRLF senders append them).
std::string_view TrimTrailer(std::string_view raw);

// "kern", "user" … "local7" for 0..23; "" otherwise.
std::string_view FacilityName(int facility);
// "emerg" … "debug" for 0..7; "" otherwise.
std::string_view SeverityName(int severity);

}  // namespace logship::agent::syslog
