// RFC 5424 §6.3 STRUCTURED-DATA: "-" or SD-ELEMENTs `[id name="value" …]`.
#include <utility>
#include <vector>

#include "agent/sources/syslog/syslog_grammar.h"

namespace logship::agent::syslog {
namespace {

constexpr size_t kMaxSdName = 32;  // SD-ID and PARAM-NAME: 1*32 SD-NAME characters

bool SdNameChar(char c) { return c >= 33 && c <= 126 && c != '=' && c != ']' && c != '"'; }

// An SD-NAME at text[*pos]; advances *pos past it.
bool SdName(std::string_view text, size_t* pos, std::string_view* out) {
  const size_t start = *pos;
  while (*pos < text.size() && SdNameChar(text[*pos])) {
    if (*pos - start == kMaxSdName) return false;
    ++*pos;
  }
  if (*pos == start) return false;
  *out = text.substr(start, *pos - start);
  return true;
}

// Where a value copied to the arena is: its views are made once the arena stops growing.
struct ArenaValue {
  size_t param = 0;   // index in SyslogMessage::sd
  size_t offset = 0;  // in SyslogMessage::arena
  size_t size = 0;
};

class SdParser {
 public:
  SdParser(std::string_view text, SyslogMessage* out) : text_(text), out_(out) {}

  // Every SD-ELEMENT; returns the characters used, or sets *error and returns 0.
  size_t Run(const char** error) {
    while (pos_ < text_.size() && text_[pos_] == '[') {
      if (const char* e = Element(); e != nullptr) {
        *error = e;
        return 0;
      }
    }
    for (const ArenaValue& v : copied_) out_->sd[v.param].value = std::string_view(out_->arena).substr(v.offset, v.size);
    return pos_;
  }

 private:
  // One SD-ELEMENT at text_[pos_] (a '[').
  const char* Element() {
    ++pos_;
    std::string_view id;
    if (!SdName(text_, &pos_, &id)) return "RFC 5424 SD-ID invalid";
    bool params = false;
    while (pos_ < text_.size() && text_[pos_] == ' ') {
      ++pos_;
      SdParam p{id, {}, {}};
      if (!SdName(text_, &pos_, &p.name)) return "RFC 5424 PARAM-NAME invalid";
      if (pos_ + 1 >= text_.size() || text_[pos_] != '=' || text_[pos_ + 1] != '"') return "RFC 5424 SD-PARAM invalid";
      pos_ += 2;
      if (!Value(p)) return "RFC 5424 PARAM-VALUE unterminated";
      params = true;
    }
    if (pos_ >= text_.size() || text_[pos_] != ']') return "RFC 5424 SD-ELEMENT unterminated";
    ++pos_;
    if (!params) Add(SdParam{id, {}, {}}, nullptr);
    return nullptr;
  }

  // A PARAM-VALUE after its opening quote, up to the closing quote (consumed). Escapes \"
  // \\ \] lose their backslash; any other backslash is kept (RFC 5424 §6.3.3). A value
  // without escapes is a view of the text; the others are copied, unescaped, to the arena.
  bool Value(SdParam p) {
    const size_t start = pos_;
    bool escaped = false;
    size_t i = start;
    for (; i < text_.size() && text_[i] != '"'; ++i) {
      if (text_[i] == '\\' && i + 1 < text_.size()) {
        escaped = true;
        ++i;  // the escaped character, whatever it is, cannot close the value
      }
    }
    if (i >= text_.size()) return false;
    pos_ = i + 1;
    const std::string_view raw = text_.substr(start, i - start);
    if (!escaped) {
      p.value = raw;
      Add(p, nullptr);
      return true;
    }
    ArenaValue copied{0, out_->arena.size(), 0};
    for (size_t k = 0; k < raw.size(); ++k) {
      const char c = raw[k];
      const char next = k + 1 < raw.size() ? raw[k + 1] : '\0';
      const bool escape = c == '\\' && (next == '"' || next == '\\' || next == ']');
      out_->arena.push_back(escape ? raw[++k] : c);
    }
    copied.size = out_->arena.size() - copied.offset;
    Add(p, &copied);
    return true;
  }

  void Add(SdParam p, ArenaValue* copied) {
    if (out_->sd.size() >= kMaxSdParams) {
      out_->sd_truncated = true;  // (its copy stays in the arena unused: bounded by the text)
      return;
    }
    if (copied != nullptr) {
      copied->param = out_->sd.size();
      copied_.push_back(*copied);
    }
    out_->sd.push_back(p);
  }

  const std::string_view text_;
  SyslogMessage* const out_;
  size_t pos_ = 0;
  std::vector<ArenaValue> copied_;
};

}  // namespace

size_t ParseStructuredData(std::string_view text, SyslogMessage* out, const char** error) {
  if (!text.empty() && text[0] == '-' && (text.size() == 1 || text[1] == ' ')) return 1;
  if (text.empty() || text[0] != '[') {
    *error = "RFC 5424 STRUCTURED-DATA invalid";
    return 0;
  }
  return SdParser(text, out).Run(error);
}

}  // namespace logship::agent::syslog
