#include "daemon.h"

#include <signal.h>

#include <catch2/catch.hpp>

namespace bs::integ {

Daemon::Daemon(TempHome& home, const Env& extra, const std::vector<std::string>& args)
    : home_(home), log_path_(home.next_log_path("daemon")) {
  std::vector<std::string> argv = {kSupervisorBin};
  argv.insert(argv.end(), args.begin(), args.end());
  child_ = std::make_unique<ChildProcess>(argv, home.env(extra), log_path_);
  home_.set_daemon_log(log_path_);
  home_.attach(this);
}

Daemon::~Daemon() {
  stop();
  home_.detach(this);
}

void Daemon::wait_answering(Ms timeout) {
  home_.wait_until("the daemon (pid " + std::to_string(pid()) + ") answers status", [&] {
    if (child_->poll_exit()) return true;  // reported below, with its log
    return home_.status().exit_code != 3;
  }, timeout);
  if (auto code = child_->poll_exit()) {
    FAIL("the daemon exited with " << *code << " before answering; log:\n" << tail_lines(log(), 40));
  }
}

int Daemon::stop(Ms timeout) {
  if (auto code = child_->poll_exit()) return *code;
  child_->signal(SIGTERM);
  if (auto code = child_->wait_exit(timeout)) return *code;
  child_->kill_and_reap();
  return child_->poll_exit().value_or(128 + SIGKILL);
}

}  // namespace bs::integ
