#include "support/child_run.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include "support/poll.h"

namespace bs::test {
namespace {

using Clock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

// How long the streams may stay open after the child exited: a grandchild that inherited them
// (a detached VM, say) would otherwise hold the run until its deadline.
constexpr Ms kAfterExit{1000};

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Both ends close-on-exec: the child gets its copies through the spawn plan's dup2 only, and no
// later child inherits this one's.
void make_pipe(int fds[2]) {
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
}

// Appends what `fd` has to `into`; closes it at its end (or on an error other than EINTR).
void drain(int& fd, std::string& into) {
  char buf[8192];
  const ssize_t n = ::read(fd, buf, sizeof buf);
  if (n > 0) {
    into.append(buf, static_cast<std::size_t>(n));
  } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
    close_fd(fd);
  }
}

}  // namespace

std::string RunResult::describe() const {
  std::ostringstream s;
  s << "exit " << exit_code << (timed_out ? " (timed out)" : "") << "\n--- stdout ---\n"
    << out << "\n--- stderr ---\n" << err;
  return s.str();
}

RunningChild::RunningChild(const std::vector<std::string>& argv, RunOptions options)
    : stdin_text_(options.stdin_text.value_or("")), deadline_(Clock::now() + options.timeout) {
  int out[2], err[2], in[2] = {-1, -1};
  make_pipe(out);
  make_pipe(err);
  if (options.stdin_text) make_pipe(in);
  SpawnPlan plan;
  if (options.stdin_text) {
    plan.dup(in[0], 0);
  } else {
    plan.open(0, "/dev/null", O_RDONLY);
  }
  plan.dup(out[1], 1);
  plan.dup(err[1], 2);
  try {
    pid_ = spawn(argv, options.env, plan);
  } catch (...) {
    for (int fd : {out[0], out[1], err[0], err[1], in[0], in[1]}) {
      if (fd >= 0) ::close(fd);
    }
    throw;
  }
  ::close(out[1]);
  ::close(err[1]);
  out_fd_ = out[0];
  err_fd_ = err[0];
  if (options.stdin_text) {
    ::close(in[0]);
    in_fd_ = in[1];
    // A child that exits without reading its input must fail the write, not kill the test.
    static const bool sigpipe_ignored = ::signal(SIGPIPE, SIG_IGN) != SIG_ERR;
    (void)sigpipe_ignored;
    ::fcntl(in_fd_, F_SETFL, O_NONBLOCK);
    feed_stdin();  // what fits now; wait() writes the rest
  }
}

RunningChild::~RunningChild() {
  if (!waited_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);  // our own unreaped child: never left running after a failed test
    (void)wait();
  }
  close_fd(out_fd_);
  close_fd(err_fd_);
  close_fd(in_fd_);
}

void RunningChild::feed_stdin() {
  while (in_fd_ >= 0 && written_ < stdin_text_.size()) {
    const ssize_t n = ::write(in_fd_, stdin_text_.data() + written_, stdin_text_.size() - written_);
    if (n > 0) {
      written_ += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      if (n < 0 && errno == EAGAIN) return;  // the pipe is full: later
      close_fd(in_fd_);
    }
  }
  close_fd(in_fd_);  // all written: the child reads its end of input
}

RunResult RunningChild::wait() {
  RunResult r;
  if (waited_) return r;
  waited_ = true;
  std::optional<int> status;
  bool lost = false;  // reaped by someone else: no status to report
  auto try_reap = [&] {
    int st = 0;
    const pid_t got = ::waitpid(pid_, &st, WNOHANG);
    if (got == pid_) status = st;
    if (got < 0 && errno == ECHILD) lost = true;
    return status.has_value() || lost;
  };
  auto kill_at_deadline = [&] {
    if (r.timed_out) return;
    ::kill(pid_, SIGKILL);  // our own child, which overran its time
    r.timed_out = true;
  };

  std::optional<Clock::time_point> exited_at;
  while (out_fd_ >= 0 || err_fd_ >= 0) {
    if (!exited_at && try_reap()) exited_at = Clock::now();
    const auto now = Clock::now();
    if (exited_at && now - *exited_at > kAfterExit) break;
    if (!exited_at && now >= deadline_) kill_at_deadline();  // its exit follows, then kAfterExit
    pollfd fds[3] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}, {in_fd_, POLLOUT, 0}};
    // The timeout is how soon an exit is noticed while a grandchild holds the streams.
    if (::poll(fds, 3, 10) < 0 && errno != EINTR) break;
    if (fds[0].revents != 0) drain(out_fd_, r.out);
    if (fds[1].revents != 0) drain(err_fd_, r.err);
    if (fds[2].revents != 0) feed_stdin();
  }
  close_fd(out_fd_);
  close_fd(err_fd_);
  close_fd(in_fd_);
  if (!status && !lost && !r.timed_out) {
    const auto left = std::chrono::duration_cast<Ms>(deadline_ - Clock::now());
    if (left.count() > 0) poll_until(try_reap, left);
  }
  if (!status && !lost) {
    kill_at_deadline();
    int st = 0;
    pid_t got;
    while ((got = ::waitpid(pid_, &st, 0)) < 0 && errno == EINTR) {
    }
    if (got == pid_) {
      status = st;
    } else {
      lost = true;
    }
  }
  r.exit_code = status ? exit_code_of(*status) : -1;
  return r;
}

RunResult run(const std::vector<std::string>& argv, const RunOptions& options) {
  RunningChild child(argv, options);
  return child.wait();
}

}  // namespace bs::test
