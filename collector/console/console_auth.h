// Bearer-token check for the console API. The token is read once, at start, from the
// first line of console.token_file. Thread-safe (immutable after Load).
#pragma once

#include <string>

#include "common/status.h"

namespace logship::collector::console {

class ConsoleAuth {
 public:
  // Reads the token; an unreadable file or an empty or short (< 16 bytes) token is an error.
  static Result<ConsoleAuth> Load(const std::string& token_file);
  static ConsoleAuth ForTest(std::string token) { return ConsoleAuth(std::move(token)); }

  // True when `authorization` is "Bearer <token>" (compared in constant time).
  bool Allows(const std::string& authorization) const;

 private:
  explicit ConsoleAuth(std::string token) : token_(std::move(token)) {}
  std::string token_;
};

}  // namespace logship::collector::console
