// A forked copy of the test process, held until the test releases it: its stdin is a pipe whose
// write end the test keeps, so the child sees end-of-file at release() (or when the test dies).
// Every process signalled here is a child this test forked and has not reaped yet, so its pid
// cannot have been recycled.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

namespace bs::test {

class ForkedChild {
 public:
  // Waits for release(), then exits with `exit_code`.
  static ForkedChild blocked(int exit_code = 0);
  // Execs argv (argv[0] a path) with the release pipe as its stdin.
  static ForkedChild exec(std::vector<std::string> argv);
  // Runs `body` in the child, whose stdin is the release pipe; `body` must _exit.
  static ForkedChild spawn(const std::function<void()>& body);

  ~ForkedChild();  // releases it; SIGKILLs and reaps it unless it was reaped already
  ForkedChild(ForkedChild&& other) noexcept;
  ForkedChild& operator=(ForkedChild&&) = delete;
  ForkedChild(const ForkedChild&) = delete;
  ForkedChild& operator=(const ForkedChild&) = delete;

  pid_t pid() const { return pid_; }
  void release();  // closes the write end of its stdin
  int wait();      // reaps it; its wait status
  // Someone else reaped the child (the code under test): it must never be signalled again.
  void reaped_elsewhere() { reaped_ = true; }
  // It exited and nobody has reaped it yet (a zombie of ours).
  bool exited_unreaped() const;

 private:
  ForkedChild(pid_t pid, int release_fd) : pid_(pid), release_fd_(release_fd) {}
  pid_t pid_;
  int release_fd_;
  bool reaped_ = false;
};

}  // namespace bs::test
