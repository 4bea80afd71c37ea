// Processes the integration tests start and watch: a synchronous `run` with pipes and a timeout,
// background children owned by RAII, and /proc checks that treat a zombie as gone (this
// machine's PID 1 does not reap orphans, so the test process is a child subreaper and reaps).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace bs::integ {

using Env = std::map<std::string, std::string>;
using Ms = std::chrono::milliseconds;

struct RunResult {
  int exit_code = -1;  // 128+N when killed by signal N
  bool timed_out = false;
  std::string out, err;
  std::string describe() const;  // exit code and both streams, for failure messages
};

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

// Makes the test process a child subreaper (idempotent): VMs detached by the sim or orphaned by
// a stopped daemon become our children, so we can reap them.
void become_subreaper();

// Reaps every exited child except the ones a ChildProcess waits for itself.
void reap_orphans();

bool pid_alive(std::int64_t pid);  // exists and is neither a zombie nor dead
std::optional<std::uint64_t> pid_start_time(std::int64_t pid);  // /proc/<pid>/stat field 22

// Waits until `pid` is gone or a zombie, reaping it if it is our child.
bool wait_pid_gone(std::int64_t pid, Ms timeout);

// Live (non-zombie) children of `parent`, per the ppid field of /proc/<pid>/stat.
std::vector<std::int64_t> children_of(std::int64_t parent);

// SIGKILL `pid` only if it is alive with exactly this start time; then waits for it and reaps it.
void kill_verified_and_reap(std::int64_t pid, std::uint64_t start_time);

// Polls `pred` every 10 ms (reaping orphans meanwhile) until it holds or `timeout` passes.
bool poll_until(const std::function<bool()>& pred, Ms timeout);

// Sleep only to prove that something does NOT happen within a bounded time.
void observe_for(Ms duration);

std::string read_file(const std::string& path);  // "" when missing
std::string tail_lines(const std::string& text, std::size_t lines);

}  // namespace bs::integ
