// RFC 3164 (BSD syslog) after the PRI: TIMESTAMP SP [HOSTNAME SP] [TAG[pid]: ]CONTENT.
//
// What real senders write varies: a local sender leaves the hostname out, a device may send no
// tag, rsyslog may write an RFC 3339 timestamp instead of the BSD one. The rule used here
// (rsyslog's, in effect): after the timestamp, a word shaped like a tag (`name:`,
// `name[pid]:`, `name[pid]`) is the tag and there is no hostname; otherwise that word is the
// hostname and the next word is the tag if it is shaped like one. A message whose first
// word after the hostname merely ends in ':' ("host Error: disk full") gets tag "Error".
#include "agent/sources/syslog/syslog_grammar.h"

namespace logship::agent::syslog {
namespace {

constexpr size_t kMaxHostname = 255;
constexpr size_t kMaxTag = 48;    // as RFC 5424's APP-NAME: it becomes one
constexpr size_t kMaxPid = 128;   // as RFC 5424's PROCID

bool Printable(char c) { return c >= 33 && c <= 126; }

// The word at the start of `text` (up to SP or the end).
std::string_view Word(std::string_view text) { return text.substr(0, text.find(' ')); }

struct Tag {
  std::string_view name;
  std::string_view pid;
  size_t used = 0;  // characters of the text the tag takes, with its ':' and one SP after it
};

// `name:` / `name[pid]:` / `name[pid]` at the start of `text`. False when the first word
// is not shaped like a tag.
bool ParseTag(std::string_view text, Tag* tag) {
  size_t i = 0;
  while (i < text.size() && Printable(text[i]) && text[i] != '[' && text[i] != ':') ++i;
  if (i == 0 || i > kMaxTag || i == text.size()) return false;
  tag->name = text.substr(0, i);
  bool bracket = false;
  if (text[i] == '[') {
    const size_t close = text.find(']', i + 1);
    if (close == std::string_view::npos || close == i + 1 || close - i - 1 > kMaxPid) return false;
    tag->pid = text.substr(i + 1, close - i - 1);
    for (char c : tag->pid)
      if (!Printable(c)) return false;
    i = close + 1;
    bracket = true;
  }
  if (i < text.size() && text[i] == ':') {
    ++i;
  } else if (!bracket || (i < text.size() && text[i] != ' ')) {
    return false;  // "name" alone, or "name[pid]x"
  }
  if (i < text.size() && text[i] == ' ') ++i;
  tag->used = i;
  return true;
}

}  // namespace

const char* ParseRfc3164Header(std::string_view rest, const ParseClock& clock, SyslogMessage* out) {
  size_t used = 0;
  if (!rest.empty() && rest[0] >= '0' && rest[0] <= '9') {
    // rsyslog's "RFC 3164 with an RFC 3339 timestamp" (and what many devices send).
    const std::string_view ts = Word(rest);
    if (!ParseRfc3339(ts, &out->time_unix_nano)) return "RFC 3164 TIMESTAMP invalid";
    used = ts.size();
  } else {
    used = ParseBsdTimestamp(rest, clock, &out->time_unix_nano);
    if (used == 0) return "RFC 3164 TIMESTAMP missing";
  }
  rest.remove_prefix(used);
  if (rest.empty()) {
    out->msg = rest;
    return nullptr;  // a timestamp and nothing else: an empty message
  }
  if (rest.front() != ' ') return "RFC 3164 TIMESTAMP not followed by SP";
  rest.remove_prefix(1);
  Tag tag;
  if (!ParseTag(rest, &tag)) {
    const std::string_view host = Word(rest);
    if (host.size() > kMaxHostname) return "RFC 3164 HOSTNAME too long";
    for (char c : host)
      if (!Printable(c)) return "RFC 3164 HOSTNAME invalid";
    out->hostname = host;
    rest.remove_prefix(host.size());
    if (!rest.empty()) rest.remove_prefix(1);  // the SP after it
    if (!ParseTag(rest, &tag)) tag = Tag{};    // no tag: the rest is the content
  }
  out->appname = tag.name;
  out->procid = tag.pid;
  rest.remove_prefix(tag.used);
  out->msg = rest;
  return nullptr;
}

}  // namespace logship::agent::syslog
