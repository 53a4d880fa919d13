// RFC 6587 framing of syslog over TCP (and TLS), detected per message: a frame that starts
// with a digit run (at most 10 digits) and a space is octet-counted ("LEN SP MSG"); any
// other is non-transparent, ended by LF. LF, CR and NUL between frames are skipped.
//
// Bounded: the decoder holds at most max_message_bytes. An LF frame longer than that comes
// out in parts of max_message_bytes, flagged FLAG_PARTIAL (the last also FLAG_LAST_PART),
// never dropped. An absurd octet count (0, over max_message_bytes, 10 digits that overflow
// it) allocates nothing: it is a framing error, after which the stream cannot be trusted to
// find the next frame; what was received from the bad frame on is handed over as a broken
// frame and the caller closes the connection.
//
// Thread-compatible (one per connection, on the loop thread).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace logship::agent::syslog {

struct Frame {
  std::string_view bytes;        // valid during OnFrame only
  uint32_t flags = 0;            // logship.v1.LogRecord FLAG_PARTIAL / FLAG_LAST_PART
  const char* broken = nullptr;  // not a message: why (bytes after a framing error, a frame cut short)
};

class FrameHandler {
 public:
  virtual ~FrameHandler() = default;
  virtual void OnFrame(const Frame& frame) = 0;
};

class FrameDecoder {
 public:
  // REQUIRES: max_message_bytes >= 16.
  explicit FrameDecoder(size_t max_message_bytes) : max_(max_message_bytes) {}

  // The next bytes of the stream: calls handler.OnFrame for each frame (or part) completed,
  // in order. InvalidArgument on a framing error (the frames before it and the broken rest
  // were handed over); Feed must not be called again after one.
  Status Feed(std::string_view chunk, FrameHandler& handler);
  // The stream ended: hands over what is pending. An LF frame without its LF is a whole
  // message; an octet-counted frame cut short is handed over broken and is InvalidArgument.
  Status Finish(FrameHandler& handler);

  size_t buffered() const { return buf_.size(); }

 private:
  enum class State { kStart, kDigits, kCounted, kLine, kError };

  // Each consumes from chunk[*i] on, within the current state.
  void Start(std::string_view chunk, size_t* i);
  Status Digits(std::string_view chunk, size_t* i, FrameHandler& handler);
  void Counted(std::string_view chunk, size_t* i, FrameHandler& handler);
  void Line(std::string_view chunk, size_t* i, FrameHandler& handler);
  // Hands `data` over as one broken frame, or as parts when longer than max_.
  void Broken(std::string_view data, const char* why, FrameHandler& handler);
  void Emit(std::string_view bytes, uint32_t flags, FrameHandler& handler, const char* broken = nullptr);

  const size_t max_;
  State state_ = State::kStart;
  std::string buf_;         // the frame so far (kDigits: its digits)
  uint64_t count_ = 0;      // kDigits: the count so far; kCounted: bytes still to come
  bool splitting_ = false;  // kLine: parts of this frame were handed over already
};

}  // namespace logship::agent::syslog
