// Signalling on macOS: no pidfds, so kill(2) right after the identity check. Compiled only on
// Apple hosts; never built by this project's CI.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <utility>

#include "platform/identity.h"
#include "platform/pidfd.h"

namespace bs::platform {
namespace {

std::string pid_text(std::int64_t pid) { return "pid " + std::to_string(pid); }

}  // namespace

KillResult kill_verified(std::int64_t pid, std::optional<std::uint64_t> expected_start_time, const ArgvRule& rule) {
  if (pid <= 0 || pid > INT_MAX) return {KillOutcome::Gone, pid_text(pid) + " is not a process"};

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
  // Without pidfds a recycled pid could slip in between the check above and this call; macOS
  // hands out pids sequentially up to 99999 before wrapping, so that window is microseconds
  // against a full cycle of the pid space.
  if (::kill(static_cast<pid_t>(pid), SIGKILL) == 0) {
    return {KillOutcome::Killed, "killed " + pid_text(pid) + " (SIGKILL)"};
  }
  const int err = errno;
  if (err == ESRCH) return {KillOutcome::Gone, pid_text(pid) + " exited before it could be killed"};
  return {KillOutcome::Failed, "cannot kill " + pid_text(pid) + ": " + std::strerror(err)};
}

// No pidfds on macOS (a kqueue EVFILT_PROC watch would do, but the event loop polls an fd):
// callers fall back to the periodic resync to notice a VM's exit.
std::optional<PidFd> PidFd::open(std::int64_t /*pid*/) { return std::nullopt; }

bool PidFd::exited() const { return true; }  // never opened on macOS
bool PidFd::wait_exited(std::chrono::milliseconds) const { return true; }

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
