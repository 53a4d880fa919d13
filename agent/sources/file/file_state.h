// The file plugin's positions (its SourceState in the checkpoint store). Loop thread only.
//
// Keyed by (source key, device, inode): two sources tailing the same file keep two positions.
// A position whose source is no longer configured (renamed, or sources reordered so default
// names moved) is an orphan: the first source that meets the file adopts it, so a rename does
// not read everything again. A released file (rotated away or deleted, read to its end) stays
// as a tombstone for kTombstoneLifetime, so a new file that reuses its inode starts at the next
// generation; then it is dropped, so the state holds only what is tailed (plus a day of
// tombstones).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <tuple>

#include "agent/checkpoint/source_state.h"
#include "logship/agent/v1/checkpoint.pb.h"

namespace logship::agent {

class FileState final : public SourceState {
 public:
  static constexpr std::string_view kType = "file";
  static constexpr std::chrono::hours kTombstoneLifetime{24};

  bool Apply(std::string_view delta) override;
  std::string Encode() const override;
  void Prune(int64_t now_unix_nano) override;
  void SetActiveSources(const std::set<std::string>& keys) override;

  // Merges positions; a later one replaces an earlier one, and an orphan position of the
  // same file is adopted (dropped).
  void Merge(const v1::FileCheckpoint& f);
  // The position of the file with this on-disk identity for `source`, else an orphan
  // position of it, if any (a tombstone has released_unix_nano set).
  const v1::FileCheckpoint* Find(const std::string& source, uint64_t device, uint64_t inode) const;
  // Every live (not released) position of `source`, and every live orphan position.
  void ForEach(const std::string& source, const std::function<void(const v1::FileCheckpoint&)>& fn) const;
  size_t size() const { return files_.size(); }

  // Checkpoints.files of a checkpoint written before plugin states: as a delta of this state.
  static void Upgrade(const v1::Checkpoints& legacy, std::string* delta);

 private:
  using Key = std::tuple<std::string, uint64_t, uint64_t>;  // (source, device, inode)
  bool Orphan(const std::string& source) const { return !active_.count(source); }

  std::map<Key, v1::FileCheckpoint> files_;
  std::set<std::string> active_;
  size_t orphans_ = 0;  // entries whose source is not active (so the common Merge skips the scan)
};

}  // namespace logship::agent
