#include "bench/common/dir_watch.h"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace bs::bench {

bs::Expected<std::unique_ptr<DirWatch>, std::string> DirWatch::open(const std::string& dir,
                                                                   std::set<std::string> names) {
  int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (fd < 0) return bs::unexpected(std::string("inotify_init1: ") + std::strerror(errno));
  if (inotify_add_watch(fd, dir.c_str(), IN_MODIFY) < 0) {
    std::string err = "cannot watch " + dir + ": " + std::strerror(errno);
    ::close(fd);
    return bs::unexpected(err);
  }
  return std::unique_ptr<DirWatch>(new DirWatch(fd, std::move(names)));
}

DirWatch::~DirWatch() { ::close(fd_); }

bool DirWatch::wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096] __attribute__((aligned(alignof(inotify_event))));
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd_, POLLIN, 0};
    int rc = ::poll(&p, 1, static_cast<int>(std::max<long long>(left.count(), 0)));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) return false;
    bool hit = false;
    ssize_t n;
    while ((n = ::read(fd_, buf, sizeof(buf))) > 0) {
      for (char* c = buf; c < buf + n;) {
        auto* e = reinterpret_cast<inotify_event*>(c);
        if (e->len > 0 && names_.count(e->name) != 0) hit = true;
        c += sizeof(inotify_event) + e->len;
      }
    }
    if (hit) return true;
  }
}

}  // namespace bs::bench
