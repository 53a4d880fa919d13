#include "agent/sources/syslog/frame_decoder.h"

#include <algorithm>
#include <cstring>

#include "logship/v1/record.pb.h"

namespace logship::agent::syslog {
namespace {

constexpr size_t kMaxCountDigits = 10;
constexpr uint32_t kPartial = logship::v1::LogRecord::FLAG_PARTIAL;
constexpr uint32_t kLastPart = logship::v1::LogRecord::FLAG_LAST_PART;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

void FrameDecoder::Emit(std::string_view bytes, uint32_t flags, FrameHandler& handler, const char* broken) {
  handler.OnFrame(Frame{bytes, flags, broken});
}

Status FrameDecoder::Feed(std::string_view chunk, FrameHandler& handler) {
  size_t i = 0;
  while (i < chunk.size()) {
    switch (state_) {
      case State::kStart: Start(chunk, &i); break;
      case State::kDigits:
        if (Status s = Digits(chunk, &i, handler); !s.ok()) return s;
        break;
      case State::kCounted: Counted(chunk, &i, handler); break;
      case State::kLine: Line(chunk, &i, handler); break;
      case State::kError: return Status::InvalidArgument("syslog stream fed after a framing error");
    }
  }
  return Status::Ok();
}

void FrameDecoder::Start(std::string_view chunk, size_t* i) {
  const char c = chunk[*i];
  if (c == '\n' || c == '\r' || c == '\0') {
    ++*i;  // a trailer after an octet-counted frame, or an empty line
    return;
  }
  if (IsDigit(c)) {
    state_ = State::kDigits;
    count_ = 0;
    return;  // Digits() takes it
  }
  state_ = State::kLine;
}

Status FrameDecoder::Digits(std::string_view chunk, size_t* i, FrameHandler& handler) {
  for (; *i < chunk.size(); ++*i) {
    const char c = chunk[*i];
    if (IsDigit(c) && buf_.size() < kMaxCountDigits) {
      buf_.push_back(c);
      count_ = count_ * 10 + static_cast<uint64_t>(c - '0');
      continue;
    }
    if (c != ' ') {
      state_ = State::kLine;  // a message that starts with digits ("2024-…", a long number)
      return Status::Ok();
    }
    if (count_ == 0 || count_ > max_) {
      // What was received from the bad frame on (bounded by the chunk) is shipped, flagged.
      const std::string bad = buf_;
      state_ = State::kError;
      buf_.clear();
      std::string rest = bad;
      rest.append(chunk.substr(*i));
      *i = chunk.size();
      Broken(rest, "octet count out of range", handler);
      return Status::InvalidArgument("octet count " + bad + " is 0 or over max_message_bytes (" +
                                     std::to_string(max_) + ")");
    }
    ++*i;  // the SP
    buf_.clear();
    state_ = State::kCounted;
    return Status::Ok();
  }
  return Status::Ok();
}

void FrameDecoder::Counted(std::string_view chunk, size_t* i, FrameHandler& handler) {
  const size_t avail = chunk.size() - *i;
  const size_t take = static_cast<size_t>(std::min<uint64_t>(count_, avail));
  if (buf_.empty() && take == count_) {
    Emit(chunk.substr(*i, take), 0, handler);  // whole in this chunk: no copy
  } else {
    buf_.append(chunk.data() + *i, take);
    if (take == count_) {
      Emit(buf_, 0, handler);
      buf_.clear();
    }
  }
  *i += take;
  count_ -= take;
  if (count_ == 0) state_ = State::kStart;
}

void FrameDecoder::Line(std::string_view chunk, size_t* i, FrameHandler& handler) {
  const char* begin = chunk.data() + *i;
  const size_t avail = chunk.size() - *i;
  const auto* nl = static_cast<const char*>(std::memchr(begin, '\n', avail));
  std::string_view seg(begin, nl != nullptr ? static_cast<size_t>(nl - begin) : avail);
  *i += seg.size() + (nl != nullptr ? 1 : 0);
  if (nl != nullptr && buf_.empty() && !splitting_ && seg.size() <= max_) {
    Emit(seg, 0, handler);  // the common case: whole in this chunk, no copy
    state_ = State::kStart;
    return;
  }
  while (!seg.empty()) {
    if (buf_.size() == max_) {  // full, and more follows: a part
      Emit(buf_, kPartial, handler);
      buf_.clear();
      splitting_ = true;
    }
    const size_t take = std::min(max_ - buf_.size(), seg.size());
    buf_.append(seg.data(), take);
    seg.remove_prefix(take);
  }
  if (nl == nullptr) return;
  Emit(buf_, splitting_ ? kPartial | kLastPart : 0, handler);
  buf_.clear();
  splitting_ = false;
  state_ = State::kStart;
}

void FrameDecoder::Broken(std::string_view data, const char* why, FrameHandler& handler) {
  if (data.size() <= max_) {
    Emit(data, 0, handler, why);
    return;
  }
  for (size_t off = 0; off < data.size(); off += max_) {
    const bool last = off + max_ >= data.size();
    Emit(data.substr(off, max_), kPartial | (last ? kLastPart : 0), handler, why);
  }
}

Status FrameDecoder::Finish(FrameHandler& handler) {
  const State state = state_;
  state_ = State::kError;
  switch (state) {
    case State::kDigits:  // "123" and the end: a message that is a number
    case State::kLine:
      if (!buf_.empty() || splitting_) Emit(buf_, splitting_ ? kPartial | kLastPart : 0, handler);
      break;
    case State::kCounted:
      if (!buf_.empty()) Broken(buf_, "octet-counted frame cut short", handler);
      buf_.clear();
      return Status::InvalidArgument("the stream ended inside an octet-counted frame (" + std::to_string(count_) +
                                     " bytes missing)");
    case State::kStart:
    case State::kError:
      break;
  }
  buf_.clear();
  return Status::Ok();
}

}  // namespace logship::agent::syslog
