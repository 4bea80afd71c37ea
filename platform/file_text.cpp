#include "platform/file_text.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "platform/unique_fd.h"

namespace bs::platform {
namespace {

std::string size_text(std::size_t bytes) {
  if (bytes % (1 << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  if (bytes % (1 << 10) == 0) return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " bytes";
}

}  // namespace

std::optional<std::string> read_file_text(const std::string& path) {
  // O_NONBLOCK: a path that turns out to be a FIFO must not block the loop.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.get() < 0) return std::nullopt;
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // A read error on /proc/<pid>/... means the process went away mid-read.
    if (n < 0) return std::nullopt;
    return out;
  }
}

bs::Expected<RegularFileText, ReadFailure> read_regular_file(const std::string& path, std::size_t max_bytes) {
  auto failure = [&](int err, const std::string& what) {
    return bs::unexpected(ReadFailure{err, path + ": " + what + (err != 0 ? std::string(": ") + std::strerror(err) : "")});
  };
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.get() < 0) return failure(errno, "cannot read");
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0) return failure(errno, "cannot stat");
  if (!S_ISREG(st.st_mode)) return failure(0, "not a regular file");
  const std::string too_large = "larger than " + size_text(max_bytes);
  if (st.st_size < 0 || static_cast<std::uint64_t>(st.st_size) > max_bytes) return failure(0, too_large);
  RegularFileText out;
  out.uid = st.st_uid;
  out.mode = st.st_mode;
  out.text.reserve(static_cast<std::size_t>(st.st_size));
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return failure(errno, "cannot read");
    }
    if (n == 0) return out;
    out.text.append(buf, static_cast<std::size_t>(n));
    if (out.text.size() > max_bytes) return failure(0, too_large);
  }
}

}  // namespace bs::platform
