// Running a program from a test and collecting what it says: stdout and stderr through pipes,
// stdin fed from a string (or /dev/null), and a SIGKILL of our own child, by the pid we spawned,
// when it overruns its timeout.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "support/spawn.h"

namespace bs::test {

struct RunOptions {
  Env env;                                // the child's whole environment (see inherited_env)
  std::optional<std::string> stdin_text;  // nullopt: stdin is /dev/null
  std::chrono::milliseconds timeout{30000};
};

struct RunResult {
  int exit_code = -1;  // 128+N when killed by signal N; -1 when someone else reaped it
  bool timed_out = false;
  std::string out, err;
  std::string describe() const;  // the exit code and both streams, for failure messages
};

// A started child whose output wait() collects; killed (it is ours) and reaped at destruction if
// it was never waited for.
class RunningChild {
 public:
  RunningChild(const std::vector<std::string>& argv, RunOptions options);
  ~RunningChild();
  RunningChild(const RunningChild&) = delete;
  RunningChild& operator=(const RunningChild&) = delete;

  pid_t pid() const { return pid_; }
  // Reads both streams to their end (for at most 1 s after the child exited: a grandchild may
  // hold them open) and reaps it. Past the deadline the child is SIGKILLed and the result says
  // timed_out. Once only.
  RunResult wait();

 private:
  void feed_stdin();

  pid_t pid_ = -1;
  int out_fd_ = -1, err_fd_ = -1, in_fd_ = -1;
  std::string stdin_text_;
  std::size_t written_ = 0;
  std::chrono::steady_clock::time_point deadline_;
  bool waited_ = false;
};

RunResult run(const std::vector<std::string>& argv, const RunOptions& options);

}  // namespace bs::test
