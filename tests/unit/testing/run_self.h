// Runs this test binary again, in a fresh process, with only the test cases matching
// `test_case` selected and `env` ("NAME=value" each, replacing an inherited NAME) added to its
// environment: for a check that must start from a clean process (glibc's allocator and
// abseil keep process-wide state).
// posix_spawn, so nothing runs between fork and exec while other threads may hold locks.
#pragma once

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <string_view>
#include <vector>

namespace logship::testing {

// The child's wait status, or -1 when it could not be started.
inline int RunSelfTestCase(const std::string& test_case, const std::vector<std::string>& env) {
  std::vector<std::string> vars;
  const auto given = [&](std::string_view inherited) {  // `env` names it too: it wins
    const std::string_view name = inherited.substr(0, inherited.find('='));
    for (const auto& v : env)
      if (std::string_view(v).substr(0, v.find('=')) == name) return true;
    return false;
  };
  for (char** e = environ; *e != nullptr; ++e)
    if (!given(*e)) vars.emplace_back(*e);
  vars.insert(vars.end(), env.begin(), env.end());
  std::vector<char*> envp;
  for (auto& v : vars) envp.push_back(v.data());
  envp.push_back(nullptr);
  std::string name = "unit_tests", filter = "--test-case=" + test_case;
  char* argv[] = {name.data(), filter.data(), nullptr};
  pid_t pid = 0;
  if (posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv, envp.data()) != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return status;
}

inline int RunSelfTestCase(const std::string& test_case, const std::string& env) {
  return RunSelfTestCase(test_case, std::vector<std::string>{env});
}

}  // namespace logship::testing
