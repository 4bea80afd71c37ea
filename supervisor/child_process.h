// Runs a smolvm command as a child process on the loop: output captured, killed past a timeout.
#pragma once

#include <uv.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace bs::supervisor {

struct CommandResult {
  int exit_code = -1;     // -1 when killed by a signal or not started
  int term_signal = 0;
  bool timed_out = false;
  std::string spawn_error;  // set when the program could not be started at all
  std::string out, err;
  std::chrono::microseconds elapsed{0};
};

class CommandRunner {
 public:
  using Done = std::function<void(CommandResult)>;

  explicit CommandRunner(uv_loop_t* loop) : loop_(loop) {}
  CommandRunner(const CommandRunner&) = delete;
  CommandRunner& operator=(const CommandRunner&) = delete;
  ~CommandRunner();

  // Starts argv[0] (searched on PATH) with the current environment plus `extra_env`. `done`
  // runs on the loop once the process exited and its output was read (or it could not start).
  // Inherited variables for which `drop` says true are left out.
  void run(const std::vector<std::string>& argv, const std::map<std::string, std::string>& extra_env,
           std::chrono::milliseconds timeout, Done done,
           const std::function<bool(std::string_view name)>& drop = {});

  std::size_t running() const { return jobs_.size(); }
  std::set<std::int64_t> child_pids() const;  // pids of the children still running
  // Kills every running child (SIGKILL: these are pids we started) and drops their callbacks.
  void abandon_all();

  struct Job;

 private:
  friend struct Job;
  void finished(Job* job);
  uv_loop_t* loop_;
  struct JobDeleter {
    void operator()(Job* j) const;
  };
  std::map<Job*, std::unique_ptr<Job, JobDeleter>> jobs_;
};

}  // namespace bs::supervisor
