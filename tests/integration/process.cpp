#include "process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <set>
#include <thread>

#include "platform/reaper.h"
#include "support/poll.h"
#include "support/spawn.h"

namespace bs::integ {
namespace {

using Clock = std::chrono::steady_clock;

// Children a ChildProcess reaps itself: the orphan reaper must not take their exit status.
std::set<std::int64_t>& awaited_children() {
  static std::set<std::int64_t> pids;
  return pids;
}

}  // namespace

RunResult run(const std::vector<std::string>& argv, const Env& env, const std::string& stdin_text, Ms timeout) {
  become_subreaper();
  return test::run(argv, {env, stdin_text, timeout});
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const Env& env, const std::string& log_path) {
  become_subreaper();
  test::SpawnPlan plan;
  plan.open(0, "/dev/null", O_RDONLY);
  plan.open(1, log_path.empty() ? "/dev/null" : log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
  plan.dup(1, 2);
  pid_ = test::spawn(argv, env, plan);
  awaited_children().insert(pid_);
}

ChildProcess::~ChildProcess() { kill_and_reap(); }

std::optional<int> ChildProcess::poll_exit() {
  if (exit_code_ || pid_ <= 0) return exit_code_;
  int st = 0;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    exit_code_ = test::exit_code_of(st);
    awaited_children().erase(pid_);
  } else if (r < 0 && errno == ECHILD) {
    exit_code_ = -1;  // someone else reaped it; it is gone
    awaited_children().erase(pid_);
  }
  return exit_code_;
}

std::optional<int> ChildProcess::wait_exit(Ms timeout) {
  test::poll_until([&] { return poll_exit().has_value(); }, timeout);
  return exit_code_;
}

void ChildProcess::signal(int signum) {
  if (!poll_exit()) ::kill(pid_, signum);  // not reaped yet, so the pid is still ours
}

void ChildProcess::kill_and_reap() {
  if (pid_ <= 0 || poll_exit()) return;
  ::kill(pid_, SIGKILL);
  int st = 0;
  if (waitpid(pid_, &st, 0) == pid_) exit_code_ = test::exit_code_of(st);
  awaited_children().erase(pid_);
}

void reap_orphans() { platform::reap_zombie_children(awaited_children()); }

bool wait_pid_gone(std::int64_t pid, Ms timeout) {
  return poll_until([&] {
    if (awaited_children().count(pid) == 0) platform::reap_child(pid);
    return !pid_alive(pid);
  }, timeout);
}

bool poll_until(const std::function<bool()>& pred, Ms timeout) {
  return test::poll_until([&] {
    reap_orphans();
    return pred();
  }, timeout);
}

void observe_for(Ms duration) {
  const auto until = Clock::now() + duration;
  while (Clock::now() < until) {
    reap_orphans();
    std::this_thread::sleep_for(std::min<Clock::duration>(Ms(10), until - Clock::now()));
  }
}

std::string tail_lines(const std::string& text, std::size_t lines) {
  std::size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;
  for (std::size_t n = 0; n < lines && pos > 0; ++n) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) return text;
  }
  return text.substr(pos == 0 ? 0 : pos + 1);
}

}  // namespace bs::integ
