#include "agent/sources/file/container_format.h"

#include <rapidjson/document.h>

#include <algorithm>

#include "common/time_parse.h"
#include "logship/v1/record.pb.h"

namespace logship::agent {
namespace {

constexpr uint32_t kPartial = logship::v1::LogRecord::FLAG_PARTIAL;
constexpr uint32_t kLastPart = logship::v1::LogRecord::FLAG_LAST_PART;

// The stream as a static string, or "" when it is neither.
std::string_view StreamName(std::string_view s) {
  if (s == "stdout") return "stdout";
  if (s == "stderr") return "stderr";
  return {};
}

// The next space-separated field of `rest` (consumed with its space).
std::string_view Field(std::string_view* rest) {
  const size_t sp = rest->find(' ');
  const std::string_view f = rest->substr(0, sp);
  rest->remove_prefix(sp == std::string_view::npos ? rest->size() : sp + 1);
  return f;
}

}  // namespace

bool ContainerDecoder::DecodeCri(std::string_view line, Piece* piece) {
  std::string_view rest = line;
  const std::string_view time = Field(&rest);
  if (!ParseRfc3339(time, &piece->meta.time_unix_nano)) {
    piece->meta.error = "not a CRI line: no RFC 3339 timestamp first";
    return false;
  }
  piece->meta.stream = StreamName(Field(&rest));
  if (piece->meta.stream.empty()) {
    piece->meta.error = "not a CRI line: the stream is neither stdout nor stderr";
    return false;
  }
  // Tags are ':'-separated; the first says whether the line ends here (CRI logging spec).
  const std::string_view tags = Field(&rest);
  const std::string_view tag = tags.substr(0, tags.find(':'));
  if (tag != "F" && tag != "P") {
    piece->meta.error = "not a CRI line: the tag is neither F nor P";
    return false;
  }
  piece->last = tag == "F";
  piece->text = rest;
  return true;
}

bool ContainerDecoder::DecodeDocker(std::string_view line, Piece* piece) {
  rapidjson::Document doc;
  // Iterative: a line of a million "[" (anyone who can write the file) must not exhaust the stack.
  doc.Parse<rapidjson::kParseIterativeFlag>(line.data(), line.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    piece->meta.error = "not a Docker json-file line: invalid JSON";
    return false;
  }
  const rapidjson::Value& root = doc;  // const iterators on both sides (clang's C++20 operator check)
  auto log = root.FindMember("log");
  if (log == root.MemberEnd() || !log->value.IsString()) {
    piece->meta.error = "not a Docker json-file line: no \"log\" string";
    return false;
  }
  json_.assign(log->value.GetString(), log->value.GetStringLength());
  piece->last = !json_.empty() && json_.back() == '\n';
  if (piece->last) json_.pop_back();
  piece->text = json_;
  if (auto s = root.FindMember("stream"); s != root.MemberEnd() && s->value.IsString())
    piece->meta.stream = StreamName(std::string_view(s->value.GetString(), s->value.GetStringLength()));
  if (auto t = root.FindMember("time"); t != root.MemberEnd() && t->value.IsString()) {
    // An unreadable time leaves the event time unknown; the message itself is fine.
    if (!ParseRfc3339(std::string_view(t->value.GetString(), t->value.GetStringLength()), &piece->meta.time_unix_nano))
      piece->meta.time_unix_nano = 0;
  }
  return true;
}

bool ContainerDecoder::Decode(std::string_view line, Piece* piece) {
  switch (format_) {
    case ContainerFormat::kCri:
      return DecodeCri(line, piece);
    case ContainerFormat::kDocker:
      return DecodeDocker(line, piece);
    case ContainerFormat::kAuto:
      if (!line.empty() && line.front() == '{') return DecodeDocker(line, piece);
      if (DecodeCri(line, piece)) return true;
      *piece = Piece{};
      piece->meta.error = "neither a CRI nor a Docker json-file line";
      return false;
    case ContainerFormat::kPlain:
      break;
  }
  piece->text = line;
  return true;
}

void ContainerDecoder::SetLineTail(std::string_view line, uint64_t offset, uint64_t next_offset) {
  const bool terminated = next_offset == offset + line.size() + 1;
  const size_t keep = std::min<size_t>(line.size(), 32 - (terminated ? 1 : 0));
  line_tail_.assign(line.substr(line.size() - keep));
  if (terminated) line_tail_.push_back('\n');
}

void ContainerDecoder::EmitPending(uint32_t flags, const EmitFn& emit) {
  if (pieces_ == 0) return;
  meta_.raw_tail = pending_tail_;
  emit(body_, offset_, next_offset_, flags, meta_);
  body_.clear();
  pieces_ = 0;
}

void ContainerDecoder::Add(std::string_view line, uint64_t offset, uint64_t next_offset, uint32_t flags,
                           const EmitFn& emit) {
  // A message whose end will not come (an undecodable line or the other stream follows it)
  // goes out alone, flagged as a part.
  const auto cut_off = [&] {
    EmitPending(kPartial, emit);
    cut_ = false;
  };
  if (flags != 0) {
    cut_off();
    emit(line, offset, next_offset, flags, LineMeta{0, {}, "longer than max_line_bytes: shipped undecoded", {}});
    return;
  }
  SetLineTail(line, offset, next_offset);
  Piece piece;
  piece.meta.raw_tail = line_tail_;
  if (!Decode(line, &piece)) {
    cut_off();
    emit(line, offset, next_offset, 0, LineMeta{0, {}, piece.meta.error, {}});  // the body is the raw line
    return;
  }
  if (pieces_ > 0 && piece.meta.stream != meta_.stream) cut_off();
  if (pieces_ == 0 && piece.last) {  // the common case: a whole line, emitted without a copy
    emit(piece.text, offset, next_offset, 0, piece.meta);
    return;
  }
  if (pieces_ > 0 && body_.size() + piece.text.size() > max_bytes_) {
    EmitPending(kPartial, emit);  // cut between pieces; the rest follows as more parts
    cut_ = true;
  }
  if (pieces_ == 0) {
    offset_ = offset;
    meta_ = piece.meta;
  }
  body_.append(piece.text);
  pending_tail_ = line_tail_;
  next_offset_ = next_offset;
  ++pieces_;
  if (piece.last) {
    EmitPending(cut_ ? (kPartial | kLastPart) : 0, emit);
    cut_ = false;
  }
}

void ContainerDecoder::Flush(const EmitFn& emit) {
  EmitPending(kPartial, emit);
  cut_ = false;
}

void ContainerDecoder::Reset() {
  body_.clear();
  pieces_ = 0;
  cut_ = false;
}

}  // namespace logship::agent
