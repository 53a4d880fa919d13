// The pieces of ParseSyslog (syslog_message.h), one per grammar. Internal to the parser;
// declared here so each can be tested on its own. Pure functions.
#pragma once

#include <string_view>

#include "agent/sources/syslog/syslog_message.h"

namespace logship::agent::syslog {

// "<PRI>" at the start of `text`: 1..3 digits, 0..191. Returns the characters used, 0 when
// there is no valid PRI (*pri untouched).
size_t ParsePri(std::string_view text, int* pri);

// The rest of an RFC 5424 message after "<PRI>1 ": header, structured data, MSG. Returns
// nullptr, or why the header is not valid (*out's fields are then unspecified).
const char* ParseRfc5424Header(std::string_view rest, SyslogMessage* out);

// STRUCTURED-DATA at the start of `text` ("-" or SD-ELEMENTs) into out->sd / out->arena.
// Returns the characters used, or sets *error and returns 0.
size_t ParseStructuredData(std::string_view text, SyslogMessage* out, const char** error);

// The rest of an RFC 3164 message after "<PRI>": TIMESTAMP, HOSTNAME, TAG[pid]: CONTENT.
// Returns nullptr, or why there is no header.
const char* ParseRfc3164Header(std::string_view rest, const ParseClock& clock, SyslogMessage* out);

}  // namespace logship::agent::syslog
