// A file descriptor that becomes readable when a process exits, so the event loop can watch a
// VM it did not start (and cannot waitpid for) without polling.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace bs::platform {

class PidFd {
 public:
  // nullopt when the process is gone or the OS cannot do this (callers fall back to resync).
  static std::optional<PidFd> open(std::int64_t pid);
  int fd() const { return fd_; }
  // True once the process has exited (a zombie counts: it has), without blocking. While false,
  // the pid still names the very process this descriptor was opened for.
  bool exited() const;
  // Blocks until the process has exited or `timeout` has passed, whichever comes first, without
  // polling; true once it has exited.
  bool wait_exited(std::chrono::milliseconds timeout) const;

  ~PidFd();
  PidFd(PidFd&& other) noexcept;
  PidFd& operator=(PidFd&& other) noexcept;
  PidFd(const PidFd&) = delete;
  PidFd& operator=(const PidFd&) = delete;

 private:
  explicit PidFd(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace bs::platform
