// pidfd-based signalling and exit watching. Linux only (pidfd_open: 5.3).
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <utility>

#include "platform/identity.h"
#include "platform/pidfd.h"
#include "platform/unique_fd.h"

namespace bs::platform {
namespace {

// Raw syscalls: glibc grew wrappers only in 2.36, and ENOSYS must stay distinguishable.
int sys_pidfd_open(std::int64_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, static_cast<pid_t>(pid), 0U));
#else
  (void)pid;
  errno = ENOSYS;
  return -1;
#endif
}

int sys_pidfd_send_signal(int pidfd, int sig) {
#ifdef SYS_pidfd_send_signal
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0U));
#else
  (void)pidfd;
  (void)sig;
  errno = ENOSYS;
  return -1;
#endif
}

std::string pid_text(std::int64_t pid) { return "pid " + std::to_string(pid); }

KillResult result_of_kill_errno(std::int64_t pid, int err) {
  if (err == ESRCH) return {KillOutcome::Gone, pid_text(pid) + " exited before it could be killed"};
  return {KillOutcome::Failed, "cannot kill " + pid_text(pid) + ": " + std::strerror(err)};
}

}  // namespace

KillResult kill_verified(std::int64_t pid, std::optional<std::uint64_t> expected_start_time, const ArgvRule& rule) {
  if (pid <= 0) return {KillOutcome::Gone, pid_text(pid) + " is not a process"};

  // The pidfd pins the process we are about to check: if the pid is recycled after the check,
  // the signal goes to the (dead) original, not to the newcomer.
  UniqueFd pidfd(sys_pidfd_open(pid));
  if (pidfd.get() < 0) {
    const int err = errno;
    if (err == ESRCH) return {KillOutcome::Gone, pid_text(pid) + " has exited"};
    if (err != ENOSYS) {
      return {KillOutcome::Failed, "cannot open a pidfd for " + pid_text(pid) + ": " + std::strerror(err)};
    }
  }

  switch (check_identity(pid, expected_start_time, rule)) {
    case Identity::Gone:
      return {KillOutcome::Gone, pid_text(pid) + " has exited"};
    case Identity::Zombie:
      return {KillOutcome::Gone, pid_text(pid) + " has already exited (zombie); not signalled"};
    case Identity::Mismatch:
      return {KillOutcome::Mismatch, pid_text(pid) + " is not this VM any more (" +
                                         (expected_start_time ? "start time or command line differs" : "command line differs") +
                                         "); not signalled"};
    case Identity::Match:
      break;
  }

  if (pidfd.get() >= 0) {
    if (sys_pidfd_send_signal(pidfd.get(), SIGKILL) == 0) {
      return {KillOutcome::Killed, "killed " + pid_text(pid) + " (SIGKILL via pidfd)"};
    }
    if (errno != ENOSYS) return result_of_kill_errno(pid, errno);
  }
  // No pidfd support: the identity check just passed, so the window for a recycled pid is the
  // few microseconds until this call.
  if (::kill(static_cast<pid_t>(pid), SIGKILL) == 0) {
    return {KillOutcome::Killed, "killed " + pid_text(pid) + " (SIGKILL)"};
  }
  return result_of_kill_errno(pid, errno);
}

std::optional<PidFd> PidFd::open(std::int64_t pid) {
  if (pid <= 0) return std::nullopt;
  int fd = sys_pidfd_open(pid);
  if (fd < 0) return std::nullopt;
  return PidFd(fd);
}

bool PidFd::exited() const {
  pollfd p{fd_, POLLIN, 0};
  int rc;
  do {
    rc = ::poll(&p, 1, 0);
  } while (rc < 0 && errno == EINTR);
  return rc != 0;  // readable (exited), or an error: never vouch for a process we cannot see
}

bool PidFd::wait_exited(std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd p{fd_, POLLIN, 0};
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    int rc = ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0)));
    if (rc >= 0 || errno != EINTR) return rc != 0;  // readable (exited), or an error: as exited()
  }
}

PidFd::~PidFd() {
  if (fd_ >= 0) ::close(fd_);
}

PidFd::PidFd(PidFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

PidFd& PidFd::operator=(PidFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

}  // namespace bs::platform
