// Runs `fn` and returns the ConfigError message it threw, or "<no error>" if it returned.
#pragma once

#include <string>

#include "common/config/config_node.h"

namespace logship::testing {

template <typename Fn>
std::string ConfigErrorOf(Fn&& fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "<no error>";
}

inline bool StartsWith(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace logship::testing
