// What the checkpoint store keeps for one source plugin type: the positions of every source
// of that type, in the plugin's own encoding. The store merges deltas into it (from spool
// frames, in order) and saves it; the plugin's sources read it. Loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "logship/agent/v1/checkpoint.pb.h"

namespace logship::agent {

class SourceState {
 public:
  virtual ~SourceState() = default;
  // Merges a delta (or a whole encoded state). False when it cannot be parsed.
  virtual bool Apply(std::string_view delta) = 0;
  // The whole state, as a delta that recreates it.
  virtual std::string Encode() const = 0;
  // Before each save: forget what is no longer needed (a tombstone that expired).
  virtual void Prune(int64_t now_unix_nano) { (void)now_unix_nano; }
  // The checkpoint keys of the sources configured now (all types); positions of other keys
  // belong to sources that were removed or renamed.
  virtual void SetActiveSources(const std::set<std::string>& keys) { (void)keys; }
};

// How the store learns the plugin types (the agent hands it the registry's view, so the
// store depends on no plugin).
struct SourceStateTypes {
  // The empty state of `type`; nullptr for a type this build does not have (its bytes are
  // kept as they are).
  std::function<std::unique_ptr<SourceState>(std::string_view type)> create;
  // Converts positions stored before per-type states existed (Checkpoints.files, .journals)
  // into `states` deltas of `upgraded`.
  std::function<void(const v1::Checkpoints& legacy, v1::Checkpoints* upgraded)> upgrade;
};

}  // namespace logship::agent
