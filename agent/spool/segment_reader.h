// Sequential scan of one spool segment file, validating every frame (FORMAT.md). Used on
// open to rebuild the spool's index and find torn tails and corrupt frames.
// Not thread-safe; borrows `fd`, which must stay open while the reader is used.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "agent/spool/frame_codec.h"
#include "common/status.h"

namespace logship::spool {

struct FrameLocation {
  FrameHeader header;
  uint64_t offset = 0;  // of the frame header within the segment file
};

class SegmentReader {
 public:
  SegmentReader(int fd, uint64_t file_size) : fd_(fd), file_size_(file_size) {}

  // Checks the segment header. Corruption when it is missing or foreign.
  Status ReadSegmentHeader();
  // After a damaged header: counts it as one corrupt frame and scans the frames after it
  // anyway (they are whole and checksummed; only the header was hit).
  void SkipDamagedHeader();

  // The next valid frame, skipping (and counting) damaged regions; nullopt at the end of
  // the valid data. I/O errors end the scan and are reported by status().
  std::optional<FrameLocation> Next();

  // End offset of the last valid frame: where a torn tail is cut.
  uint64_t valid_end() const { return valid_end_; }
  // Damaged regions (each counts as one lost frame): between valid frames, a complete but
  // damaged last frame, a damaged segment header. A torn tail is not damage.
  uint64_t corrupt_frames() const { return corrupt_frames_; }
  // Bytes after the last valid frame (a torn tail), or skipped in damaged regions.
  uint64_t skipped_bytes() const { return skipped_bytes_; }
  const Status& status() const { return status_; }

 private:
  // Whether a complete, checksummed frame starts at `offset`.
  bool ValidFrameAt(uint64_t offset, FrameHeader* header);
  // The offset of the next valid frame after `from`, if any.
  std::optional<uint64_t> Resync(uint64_t from);
  // Whether the bytes from `offset` to the end are what an interrupted append leaves.
  bool TornAt(uint64_t offset);

  int fd_;
  uint64_t file_size_;
  uint64_t pos_ = 0;
  uint64_t valid_end_ = 0;
  uint64_t corrupt_frames_ = 0;
  uint64_t skipped_bytes_ = 0;
  std::string buf_;
  Status status_;
};

}  // namespace logship::spool
