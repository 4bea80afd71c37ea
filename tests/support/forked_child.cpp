#include "support/forked_child.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

namespace bs::test {

ForkedChild ForkedChild::blocked(int exit_code) {
  return spawn([exit_code] {
    char c;
    while (::read(STDIN_FILENO, &c, 1) > 0) {
    }
    ::_exit(exit_code);
  });
}

ForkedChild ForkedChild::exec(std::vector<std::string> argv) {
  return spawn([argv] {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  });
}

ForkedChild ForkedChild::spawn(const std::function<void()>& body) {
  int fds[2];
  // Close-on-exec: a later exec'd child must not hold an earlier one's release pipe open.
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw std::runtime_error("fork failed");
  }
  if (pid == 0) {
    ::close(fds[1]);
    ::dup2(fds[0], STDIN_FILENO);
    ::close(fds[0]);
    body();
    ::_exit(126);
  }
  ::close(fds[0]);
  return ForkedChild(pid, fds[1]);
}

ForkedChild::~ForkedChild() {
  release();
  if (!reaped_) {
    ::kill(pid_, SIGKILL);  // our own unreaped child
    wait();
  }
}

ForkedChild::ForkedChild(ForkedChild&& other) noexcept
    : pid_(other.pid_), release_fd_(other.release_fd_), reaped_(other.reaped_) {
  other.release_fd_ = -1;
  other.reaped_ = true;
}

void ForkedChild::release() {
  if (release_fd_ >= 0) ::close(release_fd_);
  release_fd_ = -1;
}

int ForkedChild::wait() {
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  return status;
}

bool ForkedChild::exited_unreaped() const {
  siginfo_t info{};
  return ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid_;
}

}  // namespace bs::test
