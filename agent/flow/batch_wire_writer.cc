#include "agent/flow/batch_wire_writer.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <algorithm>
#include <bit>

namespace logship::agent {
namespace {

using google::protobuf::io::CodedOutputStream;
using google::protobuf::internal::WireFormatLite;

// Field numbers of logship/v1/record.proto.
enum BatchField { kAgentId = 1, kHost = 2, kSources = 3, kRecords = 4 };
enum SourceField { kName = 1, kSourceAttributes = 2, kFile = 3 };
enum FileField { kDevice = 1, kInode = 2, kFingerprint = 3, kGeneration = 4 };
enum KeyValueField { kKey = 1, kValue = 2 };
enum RecordField {
  kId = 1, kTime = 2, kObserved = 3, kSeverity = 4, kBody = 5, kSourceIndex = 6, kRecordAttributes = 7,
  kFlags = 8, kOffsetDelta = 9
};

// Every tag here fits one byte (fields 1-15).
uint8_t Tag(int field, WireFormatLite::WireType type) {
  return static_cast<uint8_t>(WireFormatLite::MakeTag(field, type));
}

size_t BytesFieldSize(size_t n) { return 1 + CodedOutputStream::VarintSize64(n) + n; }
size_t OptionalBytesSize(std::string_view v) { return v.empty() ? 0 : BytesFieldSize(v.size()); }

uint8_t* WriteLength(int field, size_t n, uint8_t* p) {
  *p++ = Tag(field, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
  return CodedOutputStream::WriteVarint64ToArray(n, p);
}

uint8_t* WriteBytes(int field, std::string_view v, uint8_t* p) {
  if (v.empty()) return p;
  p = WriteLength(field, v.size(), p);
  std::memcpy(p, v.data(), v.size());
  return p + v.size();
}

uint8_t* WriteFixed64(int field, uint64_t v, uint8_t* p) {
  if (v == 0) return p;
  *p++ = Tag(field, WireFormatLite::WIRETYPE_FIXED64);
  return CodedOutputStream::WriteLittleEndian64ToArray(v, p);
}

uint8_t* WriteVarint(int field, uint64_t v, uint8_t* p) {
  if (v == 0) return p;
  *p++ = Tag(field, WireFormatLite::WIRETYPE_VARINT);
  return CodedOutputStream::WriteVarint64ToArray(v, p);
}

size_t VarintFieldSize(uint64_t v) { return v == 0 ? 0 : 1 + CodedOutputStream::VarintSize64(v); }

// A KeyValue's bytes without its own tag and length.
size_t KeyValueSize(std::string_view key, std::string_view value) {
  return OptionalBytesSize(key) + OptionalBytesSize(value);
}

uint8_t* WriteKeyValue(int field, std::string_view key, std::string_view value, uint8_t* p) {
  p = WriteLength(field, KeyValueSize(key, value), p);
  p = WriteBytes(kKey, key, p);
  return WriteBytes(kValue, value, p);
}

// int32 is sign-extended to 64 bits on the wire (a negative one takes 10 bytes).
uint64_t Int32OnWire(int32_t v) { return static_cast<uint64_t>(static_cast<int64_t>(v)); }

}  // namespace

BatchWireWriter::BatchWireWriter(std::string agent_id, std::string host)
    : agent_id_(std::move(agent_id)), host_(std::move(host)) {
  Start();
}

void BatchWireWriter::Start() {
  if (buf_ == nullptr) {  // handed over by Finish (or never made)
    buf_ = std::make_unique_for_overwrite<char[]>(next_capacity_);
    capacity_ = next_capacity_;
  }
  size_ = 0;
  records_ = 0;
  source_count_ = 0;
  sources_.clear();
  uint8_t* p = Extend(OptionalBytesSize(agent_id_) + OptionalBytesSize(host_));
  p = WriteBytes(kAgentId, agent_id_, p);
  WriteBytes(kHost, host_, p);
}

uint8_t* BatchWireWriter::Extend(size_t n) {
  if (size_ + n > capacity_) {
    const size_t grown = std::max(capacity_ * 2, size_ + n);
    auto bigger = std::make_unique_for_overwrite<char[]>(grown);
    std::memcpy(bigger.get(), buf_.get(), size_);
    buf_ = std::move(bigger);
    capacity_ = grown;
  }
  auto* p = reinterpret_cast<uint8_t*>(buf_.get() + size_);
  size_ += n;
  return p;
}

uint32_t BatchWireWriter::AddSource(std::string_view name, const Attributes* attributes, const FilePosition* file) {
  size_t n = OptionalBytesSize(name);
  if (attributes != nullptr)
    for (const auto& [k, v] : *attributes) n += BytesFieldSize(KeyValueSize(k, v));
  size_t file_bytes = 0;
  if (file != nullptr) {
    file_bytes = (file->device ? 9 : 0) + (file->inode ? 9 : 0) + (file->fingerprint ? 9 : 0) +
                 VarintFieldSize(file->generation);
    n += BytesFieldSize(file_bytes);  // present even when all its fields are 0, as protobuf sends it
  }
  const size_t at = sources_.size();
  sources_.resize(at + 1 + CodedOutputStream::VarintSize64(n) + n);  // sources are few: zero-fill is nothing
  auto* p = reinterpret_cast<uint8_t*>(sources_.data() + at);
  p = WriteLength(kSources, n, p);
  p = WriteBytes(kName, name, p);
  if (attributes != nullptr)
    for (const auto& [k, v] : *attributes) p = WriteKeyValue(kSourceAttributes, k, v, p);
  if (file != nullptr) {
    p = WriteLength(kFile, file_bytes, p);
    p = WriteFixed64(kDevice, file->device, p);
    p = WriteFixed64(kInode, file->inode, p);
    p = WriteFixed64(kFingerprint, file->fingerprint, p);
    WriteVarint(kGeneration, file->generation, p);
  }
  return source_count_++;
}

void BatchWireWriter::AddRecord(const WireRecord& r) {
  const uint64_t delta = WireFormatLite::ZigZagEncode64(r.offset_delta);
  size_t n = OptionalBytesSize(r.id) + (r.time_unix_nano ? 9 : 0) + (r.observed_time_unix_nano ? 9 : 0) +
             VarintFieldSize(Int32OnWire(r.severity)) + OptionalBytesSize(r.body) + VarintFieldSize(r.source_index) +
             VarintFieldSize(r.flags) + VarintFieldSize(delta);
  if (r.attributes != nullptr)
    for (const auto& a : *r.attributes) n += BytesFieldSize(KeyValueSize(a.key, a.value));
  uint8_t* p = Extend(1 + CodedOutputStream::VarintSize64(n) + n);
  p = WriteLength(kRecords, n, p);
  p = WriteBytes(kId, r.id, p);
  p = WriteFixed64(kTime, r.time_unix_nano, p);
  p = WriteFixed64(kObserved, r.observed_time_unix_nano, p);
  p = WriteVarint(kSeverity, Int32OnWire(r.severity), p);
  p = WriteBytes(kBody, r.body, p);
  p = WriteVarint(kSourceIndex, r.source_index, p);
  if (r.attributes != nullptr)
    for (const auto& a : *r.attributes) p = WriteKeyValue(kRecordAttributes, a.key, a.value, p);
  p = WriteVarint(kFlags, r.flags, p);
  WriteVarint(kOffsetDelta, delta, p);
  ++records_;
}

SerializedBatch BatchWireWriter::Finish() {
  SerializedBatch out;
  if (records_ > 0) {
    if (!sources_.empty()) std::memcpy(Extend(sources_.size()), sources_.data(), sources_.size());
    out = SerializedBatch{std::move(buf_), size_};
    // With a quarter to spare: a batch a little larger than the last is not grown (a doubled
    // buffer and a copy of all that came before). A power of two: buffers freed by the spool
    // writer are then the very size the next batch asks for, so the heap reuses them instead
    // of growing around blocks a few KiB too small (untouched pages cost no memory).
    next_capacity_ = std::bit_ceil(std::max<size_t>(64u << 10, size_ + size_ / 4));
  }
  Start();
  return out;
}

}  // namespace logship::agent
