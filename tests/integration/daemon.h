// The real `bottle-supervisor run` as a child of the test, stderr to a log file in the temp HOME.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "process.h"
#include "temp_home.h"

namespace bs::integ {

class Daemon {
 public:
  // Starts `bottle-supervisor <args>` with home.env(extra). Does not wait for anything.
  explicit Daemon(TempHome& home, const Env& extra = {}, const std::vector<std::string>& args = {"run"});
  ~Daemon();  // stop() if still running
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  pid_t pid() const { return child_->pid(); }
  const std::string& log_path() const { return log_path_; }
  std::string log() const { return read_file(log_path_); }

  // Waits until `status` gets an answer from this daemon (exit code other than 3).
  void wait_answering(Ms timeout = Ms(30000));
  std::optional<int> exit_code() { return child_->poll_exit(); }
  std::optional<int> wait_exit(Ms timeout) { return child_->wait_exit(timeout); }
  void signal(int signum) { child_->signal(signum); }
  // SIGTERM and wait; SIGKILL after `timeout` (and the returned code says so: 128+9).
  int stop(Ms timeout = Ms(15000));

 private:
  TempHome& home_;
  std::string log_path_;
  std::unique_ptr<ChildProcess> child_;
};

}  // namespace bs::integ
