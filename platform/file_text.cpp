#include "platform/file_text.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace bs::platform {

std::optional<std::string> read_file_text(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    ::close(fd);
    // A read error on /proc/<pid>/... means the process went away mid-read.
    if (n < 0) return std::nullopt;
    return out;
  }
}

}  // namespace bs::platform
