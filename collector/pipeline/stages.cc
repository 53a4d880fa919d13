#include "collector/pipeline/stages.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cctype>
#include <climits>
#include <cstdio>
#include <ctime>

namespace logship::collector {
namespace {

constexpr int kMaxJsonDepth = 8;       // objects flattened into dotted keys
constexpr int kMaxJsonNesting = 64;    // any deeper document is not parsed at all
constexpr int kMaxAddedAttributes = 256;

// The deepest nesting of arrays and objects in `text`, counted without parsing (strings and
// their escapes skipped), stopping as soon as it passes `limit`. Linear, no recursion.
int JsonNesting(std::string_view text, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') {
      if (++depth > deepest && (deepest = depth) > limit) return deepest;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

std::string ToText(const rapidjson::Value& v) {
  if (v.IsString()) return std::string(v.GetString(), v.GetStringLength());
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

void Flatten(const rapidjson::Value& obj, const std::string& prefix, int depth, int* budget, const RecordRef& r) {
  for (auto it = obj.MemberBegin(); it != obj.MemberEnd() && *budget > 0; ++it) {
    const std::string key = prefix + std::string(it->name.GetString(), it->name.GetStringLength());
    if (it->value.IsObject() && depth < kMaxJsonDepth) {
      Flatten(it->value, key + ".", depth + 1, budget, r);
    } else if (!it->value.IsNull()) {
      r.SetAttribute(key, ToText(it->value));
      --*budget;
    }
  }
}

std::string_view Body(const RecordRef& r) { return r.record->body(); }

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {  // Howard Hinnant's algorithm
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[pos + i]))) return false;
    v = v * 10 + (s[pos + i] - '0');
  }
  *out = v;
  return true;
}

}  // namespace

bool JsonStage::Apply(const RecordRef& r) const {
  const std::string_view body = Body(r);
  // Bounded before parsing: a huge or deeply nested document (hundreds of thousands of '[')
  // is marked failed and stored as it is, never parsed (a recursive walk would overflow the
  // stack; a DOM of it would take memory without end).
  if (body.size() > kMaxParseBytes || JsonNesting(body, kMaxJsonNesting) > kMaxJsonNesting) {
    r.MarkFailed("json");
    return true;
  }
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseStopWhenDoneFlag | rapidjson::kParseIterativeFlag>(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    r.MarkFailed("json");
    return true;
  }
  int budget = kMaxAddedAttributes;
  Flatten(doc, "", 0, &budget, r);
  return true;
}

bool RegexStage::Apply(const RecordRef& r) const {
  const int groups = re_->NumberOfCapturingGroups();
  std::vector<re2::StringPiece> caps(static_cast<size_t>(groups) + 1);
  const std::string_view body = Body(r);
  if (body.size() > kMaxParseBytes) {
    r.MarkFailed("regex");
    return true;
  }
  if (!re_->Match(re2::StringPiece(body.data(), body.size()), 0, body.size(), RE2::UNANCHORED, caps.data(),
                  groups + 1)) {
    r.MarkFailed("regex");
    return true;
  }
  for (const auto& [name, index] : re_->NamedCapturingGroups()) {
    const auto& c = caps[static_cast<size_t>(index)];
    if (c.data() != nullptr) r.SetAttribute(name, std::string_view(c.data(), c.size()));
  }
  return true;
}

bool KvStage::Apply(const RecordRef& r) const {
  if (Body(r).size() > kMaxParseBytes) {
    r.MarkFailed("kv");
    return true;
  }
  const std::string body(Body(r));
  size_t i = 0, found = 0;
  const auto key_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-'; };
  while (i < body.size() && found < kMaxAddedAttributes) {
    while (i < body.size() && body[i] == delimiter_) ++i;
    const size_t ks = i;
    while (i < body.size() && key_char(body[i])) ++i;
    if (i == ks || i >= body.size() || body[i] != separator_) {
      while (i < body.size() && body[i] != delimiter_) ++i;  // not a pair: skip the token
      continue;
    }
    const std::string key = body.substr(ks, i - ks);
    ++i;
    std::string value;
    if (i < body.size() && body[i] == '"') {
      ++i;
      while (i < body.size() && body[i] != '"') {
        if (body[i] == '\\' && i + 1 < body.size()) ++i;
        value.push_back(body[i++]);
      }
      ++i;
    } else {
      const size_t vs = i;
      while (i < body.size() && body[i] != delimiter_) ++i;
      value = body.substr(vs, i - vs);
    }
    r.SetAttribute(key, value);
    ++found;
  }
  if (found == 0) r.MarkFailed("kv");
  return true;
}

bool SetStage::Apply(const RecordRef& r) const {
  for (const auto& [k, v] : values_) r.SetAttribute(k, v);
  return true;
}

int64_t ParseTimestampNanos(std::string_view s) {
  // Every result fits int64 nanoseconds since 1970 (1677-09-21 to 2262-04-11); anything
  // outside is unparseable (0), never an overflow.
  constexpr int64_t kMaxSeconds = INT64_MAX / 1000000000 - 1;
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  if (s.empty()) return 0;
  bool all_digits = true, dot = false;
  for (char c : s) {
    if (c == '.' && !dot) dot = true;
    else if (!std::isdigit(static_cast<unsigned char>(c))) all_digits = false;
  }
  if (all_digits) {
    // Integer arithmetic: a double cannot hold nanoseconds since 1970 exactly.
    const size_t dotpos = s.find('.');
    const std::string_view whole = s.substr(0, dotpos);
    if (whole.empty() || whole.size() > 19) return 0;
    uint64_t u = 0;
    for (char c : whole) u = u * 10 + static_cast<uint64_t>(c - '0');  // 19 digits fit uint64
    if (u == 0 || u > static_cast<uint64_t>(INT64_MAX)) return 0;
    const auto v = static_cast<int64_t>(u);
    int64_t frac_ns = 0;  // fraction of the unit, scaled to nanoseconds of that unit below
    int64_t scale = 100000000;
    if (dotpos != std::string_view::npos) {
      for (char c : s.substr(dotpos + 1)) {
        if (scale == 0) break;
        frac_ns += (c - '0') * scale;
        scale /= 10;
      }
    }
    if (v < 100000000000LL) return v > kMaxSeconds ? 0 : v * 1000000000 + frac_ns;  // seconds
    if (v < 100000000000000LL) return v * 1000000 + frac_ns / 1000;    // milliseconds
    if (v < 100000000000000000LL) return v * 1000 + frac_ns / 1000000; // microseconds
    return v;                                                          // nanoseconds
  }
  int Y, M, D, h, m, sec;
  if (!Digits(s, 0, 4, &Y) || s.size() < 19 || s[4] != '-' || !Digits(s, 5, 2, &M) || s[7] != '-' ||
      !Digits(s, 8, 2, &D) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !Digits(s, 11, 2, &h) ||
      s[13] != ':' || !Digits(s, 14, 2, &m) || s[16] != ':' || !Digits(s, 17, 2, &sec))
    return 0;
  if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60) return 0;
  size_t i = 19;
  int64_t frac = 0;
  if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
    ++i;
    int64_t scale = 100000000;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      frac += (s[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
  }
  int64_t offset = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh = 0, om = 0;
    const bool colon = i + 3 < s.size() && s[i + 3] == ':';
    if (!Digits(s, i + 1, 2, &oh) || !Digits(s, i + (colon ? 4 : 3), 2, &om)) return 0;
    offset = (s[i] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
  }
  const int64_t days = DaysFromCivil(Y, static_cast<unsigned>(M), static_cast<unsigned>(D));
  const int64_t secs = days * 86400 + h * 3600 + m * 60 + sec - offset;
  if (secs <= 0 || secs > kMaxSeconds) return 0;  // before 1970 is not a log time we keep
  return secs * 1000000000 + frac;
}

int32_t ParseSeverity(std::string_view text) {
  std::string t;
  for (char c : text) t.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (t == "trace") return 1;
  if (t == "debug" || t == "dbg") return 5;
  if (t == "info" || t == "information" || t == "informational") return 9;
  if (t == "notice") return 10;
  if (t == "warn" || t == "warning") return 13;
  if (t == "error" || t == "err") return 17;
  if (t == "crit" || t == "critical") return 18;
  if (t == "alert") return 19;
  if (t == "fatal" || t == "emerg" || t == "emergency" || t == "panic") return 21;
  if (!t.empty() && t.size() <= 2 && std::isdigit(static_cast<unsigned char>(t[0]))) {
    const int v = std::atoi(t.c_str());
    if (v >= 1 && v <= 24) return v;
  }
  return 0;
}

namespace {
constexpr std::string_view kTimeKeys[] = {"ts", "time", "timestamp", "@timestamp"};
constexpr std::string_view kSeverityKeys[] = {"level", "severity", "lvl", "log.level"};
}  // namespace

bool ExtractStage::SourceMayMatter(const logship::v1::Source& source) {
  for (const auto& kv : source.attributes())
    for (const auto* keys : {&kTimeKeys, &kSeverityKeys})
      for (std::string_view k : *keys)
        if (kv.key() == k) return true;
  return false;
}

bool ExtractStage::Apply(const RecordRef& r) const {
  auto* rec = r.record;
  if (rec->time_unix_nano() == 0) {
    for (std::string_view key : kTimeKeys) {
      if (const std::string* v = r.Attribute(key)) {
        if (const int64_t t = ParseTimestampNanos(*v); t > 0) {
          rec->set_time_unix_nano(static_cast<uint64_t>(t));
          break;
        }
      }
    }
  }
  if (rec->severity() == 0) {
    for (std::string_view key : kSeverityKeys) {
      if (const std::string* v = r.Attribute(key)) {
        if (const int32_t sev = ParseSeverity(*v); sev > 0) {
          rec->set_severity(sev);
          break;
        }
      }
    }
  }
  return true;
}

}  // namespace logship::collector
