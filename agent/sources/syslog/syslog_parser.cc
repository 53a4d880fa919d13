// ParseSyslog: PRI, the choice between RFC 5424 and RFC 3164, and the RFC 5424 header.
#include <array>

#include "agent/sources/syslog/syslog_grammar.h"
#include "agent/sources/syslog/syslog_message.h"

namespace logship::agent::syslog {
namespace {

// RFC 5424 §6: HOSTNAME 1*255, APP-NAME 1*48, PROCID 1*128, MSGID 1*32 PRINTUSASCII.
constexpr size_t kMaxHostname = 255;
constexpr size_t kMaxAppName = 48;
constexpr size_t kMaxProcId = 128;
constexpr size_t kMaxMsgId = 32;
constexpr std::string_view kBom = "\xEF\xBB\xBF";

bool PrintUsAscii(char c) { return c >= 33 && c <= 126; }

// A header field up to the next SP: 1..max PRINTUSASCII characters; "-" is NILVALUE (empty
// view). Advances *rest past the field (not the SP). False when it is not a valid field.
bool Field(std::string_view* rest, size_t max, std::string_view* out) {
  size_t n = 0;
  while (n < rest->size() && (*rest)[n] != ' ') {
    if (!PrintUsAscii((*rest)[n]) || n == max) return false;
    ++n;
  }
  if (n == 0) return false;
  const std::string_view f = rest->substr(0, n);
  *out = f == "-" ? std::string_view() : f;
  rest->remove_prefix(n);
  return true;
}

// One SP, then the next field.
bool SpaceThenField(std::string_view* rest, size_t max, std::string_view* out) {
  if (rest->empty() || rest->front() != ' ') return false;
  rest->remove_prefix(1);
  return Field(rest, max, out);
}

}  // namespace

std::string_view TrimTrailer(std::string_view raw) {
  while (!raw.empty() && (raw.back() == '\n' || raw.back() == '\r' || raw.back() == '\0')) raw.remove_suffix(1);
  return raw;
}

size_t ParsePri(std::string_view text, int* pri) {
  if (text.size() < 3 || text[0] != '<') return 0;
  int v = 0;
  size_t i = 1;
  for (; i < text.size() && i <= 4 && text[i] >= '0' && text[i] <= '9'; ++i) v = v * 10 + (text[i] - '0');
  const size_t digits = i - 1;
  if (digits == 0 || digits > 3 || i >= text.size() || text[i] != '>' || v > 191) return 0;
  *pri = v;
  return i + 1;
}

const char* ParseRfc5424Header(std::string_view rest, SyslogMessage* out) {
  std::string_view timestamp;
  if (!Field(&rest, 64, &timestamp)) return "RFC 5424 TIMESTAMP missing";
  if (!timestamp.empty() && !ParseRfc3339(timestamp, &out->time_unix_nano)) return "RFC 5424 TIMESTAMP invalid";
  if (!SpaceThenField(&rest, kMaxHostname, &out->hostname)) return "RFC 5424 HOSTNAME invalid";
  if (!SpaceThenField(&rest, kMaxAppName, &out->appname)) return "RFC 5424 APP-NAME invalid";
  if (!SpaceThenField(&rest, kMaxProcId, &out->procid)) return "RFC 5424 PROCID invalid";
  if (!SpaceThenField(&rest, kMaxMsgId, &out->msgid)) return "RFC 5424 MSGID invalid";
  if (rest.empty() || rest.front() != ' ') return "RFC 5424 STRUCTURED-DATA missing";
  rest.remove_prefix(1);
  const char* error = nullptr;
  const size_t used = ParseStructuredData(rest, out, &error);
  if (used == 0) return error;
  rest.remove_prefix(used);
  if (!rest.empty()) {
    if (rest.front() != ' ') return "RFC 5424 STRUCTURED-DATA not followed by SP";
    rest.remove_prefix(1);
  }
  if (rest.substr(0, kBom.size()) == kBom) rest.remove_prefix(kBom.size());  // MSG-UTF8's BOM
  out->msg = rest;
  return nullptr;
}

void ParseSyslog(std::string_view raw, const ParseClock& clock, SyslogMessage* out) {
  out->format = SyslogMessage::Format::kUnparsed;
  out->pri = -1;
  out->time_unix_nano = 0;
  out->hostname = out->appname = out->procid = out->msgid = out->msg = out->error = {};
  out->sd.clear();
  out->sd_truncated = false;
  out->arena.clear();

  int pri = -1;
  const size_t used = ParsePri(raw, &pri);
  const char* error = nullptr;
  if (used == 0) {
    error = "no valid PRI";
  } else if (raw.substr(used, 2) == "1 ") {
    error = ParseRfc5424Header(raw.substr(used + 2), out);
    if (error == nullptr) out->format = SyslogMessage::Format::kRfc5424;
  } else {
    error = ParseRfc3164Header(raw.substr(used), clock, out);
    if (error == nullptr) out->format = SyslogMessage::Format::kRfc3164;
  }
  out->pri = pri;  // a valid PRI still tells the severity of a message whose header is bad
  if (error == nullptr) return;
  // Not taken apart: the message as received, and why.
  out->time_unix_nano = 0;
  out->hostname = out->appname = out->procid = out->msgid = {};
  out->sd.clear();
  out->sd_truncated = false;
  out->msg = raw;
  out->error = error;
}

std::string_view FacilityName(int facility) {
  static constexpr std::array<std::string_view, 24> kNames = {
      "kern", "user",     "mail", "daemon", "auth",   "syslog", "lpr",    "news",
      "uucp", "cron",     "authpriv", "ftp", "ntp",  "security", "console", "solaris-cron",
      "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"};
  return facility >= 0 && facility < 24 ? kNames[static_cast<size_t>(facility)] : std::string_view();
}

std::string_view SeverityName(int severity) {
  static constexpr std::array<std::string_view, 8> kNames = {"emerg",   "alert",  "crit", "err",
                                                             "warning", "notice", "info", "debug"};
  return severity >= 0 && severity < 8 ? kNames[static_cast<size_t>(severity)] : std::string_view();
}

}  // namespace logship::agent::syslog
