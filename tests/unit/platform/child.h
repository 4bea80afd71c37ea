// Child processes for the platform tests. Every process signalled here is a child this test
// forked and has not reaped yet, so its pid cannot have been recycled.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace bs::platform::test {

class Child {
 public:
  // A forked copy of the test that waits until release() (or until the test dies), then exits
  // with `exit_code`.
  static Child blocked(int exit_code = 0) {
    return spawn([exit_code](int) {
      char c;
      while (::read(STDIN_FILENO, &c, 1) > 0) {
      }
      ::_exit(exit_code);
    });
  }

  // argv[0] is a path; the program's stdin is a pipe held open until release().
  static Child exec(std::vector<std::string> argv) {
    return spawn([argv](int) {
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    });
  }

  // Runs `body` in a forked child (stdin a pipe held until release()); `body` must _exit.
  static Child spawn(const std::function<void(int)>& body) {
    int fds[2];
    // Close-on-exec: a later exec'd child must not hold an earlier one's release pipe open.
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      ::close(fds[1]);
      ::dup2(fds[0], STDIN_FILENO);
      ::close(fds[0]);
      body(0);
      ::_exit(126);
    }
    ::close(fds[0]);
    return Child(pid, fds[1]);
  }

  ~Child() {
    release();
    if (!reaped_) {
      ::kill(pid_, SIGKILL);  // our own unreaped child
      wait();
    }
  }
  Child(Child&& other) noexcept : pid_(other.pid_), release_fd_(other.release_fd_), reaped_(other.reaped_) {
    other.release_fd_ = -1;
    other.reaped_ = true;
  }
  Child& operator=(Child&&) = delete;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }

  void release() {
    if (release_fd_ >= 0) ::close(release_fd_);
    release_fd_ = -1;
  }

  // Reaps the child; returns its wait status.
  int wait() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
    return status;
  }

  // Someone else reaped the child (the code under test): it must never be signalled again.
  void reaped_elsewhere() { reaped_ = true; }

  bool exited_unreaped() const {
    siginfo_t info{};
    return ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid_;
  }

 private:
  Child(pid_t pid, int release_fd) : pid_(pid), release_fd_(release_fd) {}
  pid_t pid_;
  int release_fd_;
  bool reaped_ = false;
};

// Polls `condition` until it holds or `timeout` passes.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return condition();
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "bs-platform-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

// A marker no other process on the machine has in its command line.
inline std::string unique_marker(const std::string& what) {
  return "bs-test-" + what + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
}

}  // namespace bs::platform::test
