// Processes the integration tests start and watch: a synchronous `run` with pipes and a timeout,
// background children owned by RAII, and reaping (this machine's PID 1 does not reap orphans, so
// the test process is a child subreaper and reaps them itself). The machinery is the shared one
// of tests/support; what is here is how the harness uses it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "support/child_run.h"
#include "support/files.h"
#include "support/proc.h"
#include "support/vm_cleanup.h"

namespace bs::integ {

using Env = test::Env;
using Ms = std::chrono::milliseconds;
using test::RunResult;

using test::become_subreaper;
using test::children_of;
using test::kill_verified_and_reap;
using test::pid_alive;
using test::pid_start_time;
using test::read_file;

// Runs argv[0] (an absolute path) with exactly `env`, feeding `stdin_text` and collecting both
// streams. A run exceeding `timeout` is SIGKILLed (it is our child) and reported timed_out.
RunResult run(const std::vector<std::string>& argv, const Env& env, const std::string& stdin_text = "",
              Ms timeout = Ms(30000));

// A background process we started: stdout and stderr go to `log_path` (or /dev/null when empty).
// The destructor SIGKILLs it if it still runs and reaps it, so a failing test leaves nothing.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const Env& env, const std::string& log_path = "");
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // The exit code once it exited (reaped here), nullopt while it runs.
  std::optional<int> poll_exit();
  // Waits up to `timeout`; nullopt if it is still running then.
  std::optional<int> wait_exit(Ms timeout);
  void signal(int signum);
  void kill_and_reap();

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

// Reaps every exited child except the ones a ChildProcess waits for itself.
void reap_orphans();

// Waits until `pid` is gone or a zombie, reaping it if it is our child.
bool wait_pid_gone(std::int64_t pid, Ms timeout);

// test::poll_until, reaping orphans at every ask.
bool poll_until(const std::function<bool()>& pred, Ms timeout);

// Sleep only to prove that something does NOT happen within a bounded time.
void observe_for(Ms duration);

std::string tail_lines(const std::string& text, std::size_t lines);

}  // namespace bs::integ
