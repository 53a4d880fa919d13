// Fuzzes the spool's recovery reader: arbitrary bytes after a valid segment header (torn,
// flipped, forged frames). It must never crash, loop, or return a frame that does not
// pass its CRC.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "agent/spool/frame_codec.h"
#include "agent/spool/frame_format.h"
#include "agent/spool/segment_reader.h"
#include "common/file_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace logship::spool;
  logship::UniqueFd fd(memfd_create("segment", 0));
  if (!fd.valid()) return 0;
  std::string header(kSegmentHeaderSize, '\0');
  std::memcpy(header.data(), kSegmentMagic, sizeof kSegmentMagic);
  header[8] = static_cast<char>(kSegmentVersion);
  if (!logship::WriteAll(fd.get(), header).ok()) return 0;
  if (!logship::WriteAll(fd.get(), std::string_view(reinterpret_cast<const char*>(data), size)).ok()) return 0;
  const uint64_t file_size = kSegmentHeaderSize + size;
  SegmentReader reader(fd.get(), file_size);
  if (!reader.ReadSegmentHeader().ok()) __builtin_trap();
  uint64_t last_end = kSegmentHeaderSize;
  std::string frame;
  while (auto loc = reader.Next()) {
    if (loc->offset < last_end || loc->offset + loc->header.total_size() > file_size) __builtin_trap();
    if (!logship::PreadExact(fd.get(), loc->offset, loc->header.total_size(), &frame).ok()) __builtin_trap();
    if (!FrameChecksumMatches(frame)) __builtin_trap();
    last_end = loc->offset + loc->header.total_size();
  }
  if (reader.valid_end() > file_size) __builtin_trap();
  return 0;
}
