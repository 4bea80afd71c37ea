// Runs a program with posix_spawn and captures its exit code, stdout and stderr through pipes.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace bs::test {

struct ProcResult {
  int exit_code = -1;  // 128+N when killed by signal N
  std::string out;
  std::string err;
  bool timed_out = false;
};

struct SpawnOptions {
  std::map<std::string, std::string> env_set;  // added/overridden on top of the base env
  std::vector<std::string> env_unset_prefixes;  // variables starting with these are dropped
  std::optional<std::string> stdin_data;        // nullopt: stdin is /dev/null
  std::chrono::milliseconds timeout{60000};
};

// A started child whose output is collected by wait(). Killed (it is ours) if never waited for.
class RunningProcess {
 public:
  RunningProcess(const std::vector<std::string>& argv, const SpawnOptions& opts);
  ~RunningProcess();
  RunningProcess(const RunningProcess&) = delete;
  RunningProcess& operator=(const RunningProcess&) = delete;

  pid_t pid() const { return pid_; }
  ProcResult wait();

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::chrono::steady_clock::time_point deadline_;
  bool waited_ = false;
};

ProcResult run_process(const std::vector<std::string>& argv, const SpawnOptions& opts = {});

}  // namespace bs::test
