// flock(2)-based locks; flock exists on Linux and macOS alike.
#include "platform/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <thread>
#include <utility>

namespace bs::platform {
namespace {

std::string os_error(const std::string& what, int err) { return what + ": " + std::strerror(err); }

std::optional<std::string> make_parent_dirs(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return std::nullopt;
  const std::string dir = path.substr(0, slash);
  for (std::size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    const std::string prefix = dir.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0700) == 0 || errno == EEXIST) continue;
    return os_error("cannot create " + prefix, errno);
  }
  return std::nullopt;
}

bs::Expected<int, std::string> open_lock_file(const std::string& path) {
  if (auto err = make_parent_dirs(path)) return bs::unexpected(*err);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
  // A lock file we may only read (another user's bot-bottle lock) still takes a flock.
  if (fd < 0 && (errno == EACCES || errno == EROFS)) fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return bs::unexpected(os_error("cannot open lock file " + path, errno));
  return fd;
}

int flock_retrying(int fd, int op) {
  int rc = 0;
  do {
    rc = ::flock(fd, op);
  } while (rc != 0 && errno == EINTR);
  return rc;
}

struct Holder {
  long long pid = 0;
  std::string note;  // the second line, if any
};

// What a holder wrote into its lock file ("<pid>\n<note>\n"), or nullopt while it has not
// written it yet.
std::optional<Holder> read_holder(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return std::nullopt;
  char buf[4096];
  ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  if (n <= 0) return std::nullopt;
  std::string_view text(buf, static_cast<std::size_t>(n));
  const auto nl = text.find('\n');
  std::string_view first = text.substr(0, nl);
  while (!first.empty() && first.back() == ' ') first.remove_suffix(1);
  Holder h;
  auto [end, ec] = std::from_chars(first.data(), first.data() + first.size(), h.pid);
  if (ec != std::errc() || end != first.data() + first.size() || h.pid <= 0) return std::nullopt;
  if (nl != std::string_view::npos) {
    std::string_view rest = text.substr(nl + 1);
    h.note = std::string(rest.substr(0, rest.find('\n')));
  }
  return h;
}

}  // namespace

bs::Expected<FileLock, std::string> FileLock::acquire(const std::string& path) {
  auto fd = open_lock_file(path);
  if (!fd) return bs::unexpected(fd.error());
  if (flock_retrying(*fd, LOCK_EX) != 0) {
    const int err = errno;
    ::close(*fd);
    return bs::unexpected(os_error("cannot lock " + path, err));
  }
  return FileLock(*fd, path);
}

bs::Expected<std::optional<FileLock>, std::string> FileLock::try_acquire(const std::string& path) {
  auto fd = open_lock_file(path);
  if (!fd) return bs::unexpected(fd.error());
  if (flock_retrying(*fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(*fd);
    if (err == EWOULDBLOCK) return std::optional<FileLock>{};
    return bs::unexpected(os_error("cannot lock " + path, err));
  }
  return std::optional<FileLock>(FileLock(*fd, path));
}

FileLock::~FileLock() {
  if (fd_ < 0) return;
  ::flock(fd_, LOCK_UN);
  ::close(fd_);
}

FileLock::FileLock(FileLock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) {
      ::flock(fd_, LOCK_UN);
      ::close(fd_);
    }
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

bs::Expected<InstanceLock, std::string> InstanceLock::acquire(const std::string& path, const std::string& note) {
  auto lock = FileLock::try_acquire(path);
  if (!lock) return bs::unexpected(lock.error());
  if (!*lock) {
    // The holder writes its pid just after locking; give it a moment if we came in between.
    for (int attempt = 0; attempt < 50; ++attempt) {
      if (auto holder = read_holder(path)) {
        return bs::unexpected("already running (pid " + std::to_string(holder->pid) +
                              (holder->note.empty() ? "" : ", " + holder->note) + ")");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return bs::unexpected(std::string("already running (pid unknown, see ") + path + ")");
  }
  FileLock held = std::move(**lock);
  const std::string pid = std::to_string(::getpid()) + "\n" + (note.empty() ? "" : note + "\n");
  if (::ftruncate(held.fd(), 0) != 0 ||
      ::pwrite(held.fd(), pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    return bs::unexpected(os_error("cannot write the pid into " + path, errno));
  }
  return InstanceLock(std::move(held));
}

}  // namespace bs::platform
