// Runs a program the way the supervisor will run smolvm: argv, a chosen environment, stdin from
// /dev/null (no terminal), stdout and stderr captured, killed if it overruns its deadline.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace bs::test {

struct CommandOutput {
  int exit_code = -1;  // -1 when killed by a signal or the deadline
  std::string out, err;
};

// The environment is this process's, minus every SMOLVM_* and XDG_* variable, plus `env`.
CommandOutput run_command(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                          std::chrono::milliseconds deadline = std::chrono::seconds(30));

}  // namespace bs::test
