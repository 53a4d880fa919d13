#include "agent/spool/segment_reader.h"

#include <algorithm>
#include <cstring>

#include "agent/spool/frame_format.h"
#include "common/file_util.h"

namespace logship::spool {

Status SegmentReader::ReadSegmentHeader() {
  std::string head;
  if (file_size_ < kSegmentHeaderSize) return Status::Corruption("segment shorter than its header");
  Status s = PreadExact(fd_, 0, kSegmentHeaderSize, &head);
  if (!s.ok()) return s;
  if (std::memcmp(head.data(), kSegmentMagic, sizeof kSegmentMagic) != 0)
    return Status::Corruption("not a logship spool segment (bad magic)");
  const auto version = static_cast<uint32_t>(static_cast<uint8_t>(head[8])) |
                       static_cast<uint32_t>(static_cast<uint8_t>(head[9])) << 8;
  if (version != kSegmentVersion) return Status::Corruption("unsupported segment version " + std::to_string(version));
  pos_ = valid_end_ = kSegmentHeaderSize;
  return Status::Ok();
}

bool SegmentReader::ValidFrameAt(uint64_t offset, FrameHeader* header) {
  if (offset + kFrameHeaderSize > file_size_) return false;
  if (!PreadExact(fd_, offset, kFrameHeaderSize, &buf_).ok()) return false;
  if (DecodeFrameHeader(buf_, header) != HeaderCheck::kOk) return false;
  if (offset + header->total_size() > file_size_) return false;
  if (!PreadExact(fd_, offset, header->total_size(), &buf_).ok()) return false;
  return FrameChecksumMatches(buf_);
}

std::optional<uint64_t> SegmentReader::Resync(uint64_t from) {
  constexpr size_t kChunk = 1 << 20;
  const char magic[4] = {static_cast<char>(kFrameMagic & 0xff), static_cast<char>((kFrameMagic >> 8) & 0xff),
                         static_cast<char>((kFrameMagic >> 16) & 0xff), static_cast<char>(kFrameMagic >> 24)};
  std::string chunk;
  for (uint64_t base = from; base + kFrameHeaderSize <= file_size_; base += kChunk) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk + 3, file_size_ - base));
    if (!PreadExact(fd_, base, n, &chunk).ok()) return std::nullopt;
    for (size_t i = 0; i + 4 <= n && i < kChunk; ++i) {
      if (std::memcmp(chunk.data() + i, magic, 4) != 0) continue;
      FrameHeader h;
      if (ValidFrameAt(base + i, &h)) return base + i;
    }
  }
  return std::nullopt;
}

void SegmentReader::SkipDamagedHeader() {
  ++corrupt_frames_;
  pos_ = valid_end_ = std::min<uint64_t>(kSegmentHeaderSize, file_size_);
}

bool SegmentReader::TornAt(uint64_t offset) {
  // What a crash mid-append leaves: part of a header, a header whose frame runs past the end
  // of the file, or zeros (blocks allocated but never written before a power cut). Anything
  // else after the last valid frame is damage to a complete frame.
  const uint64_t left = file_size_ - offset;
  if (left < kFrameHeaderSize) return true;
  FrameHeader h;
  if (!PreadExact(fd_, offset, kFrameHeaderSize, &buf_).ok()) return true;
  if (DecodeFrameHeader(buf_, &h) == HeaderCheck::kOk && offset + h.total_size() > file_size_) return true;
  constexpr size_t kChunk = 64 << 10;
  for (uint64_t at = offset; at < file_size_; at += kChunk) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, file_size_ - at));
    if (!PreadExact(fd_, at, n, &buf_).ok()) return true;
    if (buf_.find_first_not_of('\0') != std::string::npos) return false;
  }
  return true;
}

std::optional<FrameLocation> SegmentReader::Next() {
  if (!status_.ok() || pos_ >= file_size_) return std::nullopt;
  FrameLocation loc;
  if (!ValidFrameAt(pos_, &loc.header)) {
    auto next = Resync(pos_ + 1);
    if (!next) {  // nothing valid after this point: a torn tail, or a damaged last frame
      if (!TornAt(pos_)) ++corrupt_frames_;
      skipped_bytes_ += file_size_ - pos_;
      pos_ = file_size_;
      return std::nullopt;
    }
    ++corrupt_frames_;
    skipped_bytes_ += *next - pos_;
    pos_ = *next;
    if (!ValidFrameAt(pos_, &loc.header)) return std::nullopt;  // cannot happen: Resync checked it
  }
  loc.offset = pos_;
  pos_ += loc.header.total_size();
  valid_end_ = pos_;
  return loc;
}

}  // namespace logship::spool
