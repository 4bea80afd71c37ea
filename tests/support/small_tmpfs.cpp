#include "support/small_tmpfs.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace bs::test {

SmallTmpfs::SmallTmpfs(const std::string& dir, const std::string& size) : dir_(dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  const std::string options = "size=" + size + ",mode=0700";
  mounted_ = ::mount("tmpfs", dir_.c_str(), "tmpfs", 0, options.c_str()) == 0;
  if (!mounted_) error_ = std::strerror(errno);
}

SmallTmpfs::~SmallTmpfs() {
  if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
}

Filled fill_until_full(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
  Filled f;
  const std::string block(4096, 'x');
  for (std::size_t chunk : {block.size(), std::size_t{1}}) {
    for (;;) {
      const ssize_t n = ::write(fd, block.data(), chunk);
      if (n <= 0) {
        f.refusal = n < 0 ? errno : 0;
        break;
      }
      f.bytes += static_cast<std::size_t>(n);
    }
  }
  ::close(fd);
  return f;
}

}  // namespace bs::test
