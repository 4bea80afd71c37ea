// Advisory whole-file locks (flock): the bot-bottle allocation lock shared with bot-bottle, and
// the supervisor's single-instance lock. flock locks belong to the open file, so they vanish
// with the process however it dies; the files are opened close-on-exec so that smolvm children
// (and the VMs they detach) never inherit, and so never keep holding, a lock.
#pragma once

#include <optional>
#include <string>

#include "reconcile/expected.h"

namespace bs::platform {

class FileLock {
 public:
  // LOCK_EX on `path`, created 0600 (missing parent directories 0700). acquire() waits for the
  // holder; try_acquire() returns nullopt at once when someone else holds it.
  static bs::Expected<FileLock, std::string> acquire(const std::string& path);
  static bs::Expected<std::optional<FileLock>, std::string> try_acquire(const std::string& path);

  const std::string& path() const { return path_; }
  int fd() const { return fd_; }

  ~FileLock();  // unlocks and closes
  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  FileLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::string path_;
};

// One daemon per state dir: <state_dir>/supervisor.lock, locked and holding the holder's pid.
class InstanceLock {
 public:
  // Error "already running (pid N)" when another process holds it, N read from the file; with a
  // `note` (one line, e.g. "state dir /x") written after the pid, the error ends "(pid N, <note>)".
  static bs::Expected<InstanceLock, std::string> acquire(const std::string& path, const std::string& note = {});
  const std::string& path() const { return lock_.path(); }

 private:
  explicit InstanceLock(FileLock lock) : lock_(std::move(lock)) {}
  FileLock lock_;
};

}  // namespace bs::platform
