// `validate FILE...`: each spec file checked on its own, as the daemon would take it: the file
// name, the owner/permission trust check (CONTRACT §3), then the parser's diagnostics.
// Output on stdout: "<file>: ok", or one "<file>:<line>:<col>: <message>" per problem.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "reconcile/spec.h"
#include "supervisor/commands.h"

namespace bs::supervisor {
namespace {

constexpr off_t kMaxSpecBytes = 1 << 20;  // the daemon's limit too (spec_folder.cpp)

std::string base_name(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string mode_text(mode_t mode) {
  return std::to_string((mode >> 6) & 7) + std::to_string((mode >> 3) & 7) + std::to_string(mode & 7);
}

// The file's text, or the one problem that stops us from parsing it.
bs::Expected<std::string, std::string> read_trusted(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return bs::unexpected(path + ": cannot read: " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st{};
  if (::fstat(fd, &st) != 0) return bs::unexpected(path + ": cannot stat: " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return bs::unexpected(path + ": not a regular file");
  if (st.st_uid != ::geteuid()) {
    return bs::unexpected(path + ": owned by uid " + std::to_string(st.st_uid) + ", not by you (uid " +
                          std::to_string(::geteuid()) + "); the supervisor ignores spec files it does not own");
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return bs::unexpected(path + ": writable by group or others (mode " + mode_text(st.st_mode) +
                          "); the supervisor ignores it; run: chmod go-w " + path);
  }
  if (st.st_size > kMaxSpecBytes) return bs::unexpected(path + ": larger than 1 MiB");
  std::string text;
  char buf[8192];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return bs::unexpected(path + ": cannot read: " + std::strerror(errno));
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > static_cast<std::size_t>(kMaxSpecBytes)) return bs::unexpected(path + ": larger than 1 MiB");
  }
  return text;
}

// Every problem of one file, one line each; empty when it is valid.
std::vector<std::string> problems_of(const std::string& path, const Ipv4Pool& pool) {
  std::vector<std::string> lines;
  if (!is_spec_file_name(base_name(path))) {
    lines.push_back(path + ":1:1: the supervisor ignores this file: spec files are named <bottle>.toml "
                           "and do not start with '.'");
  }
  auto text = read_trusted(path);
  if (!text) {
    lines.push_back(text.error());
    return lines;
  }
  auto spec = parse_bottle_spec(path, *text, pool);
  if (!spec) {
    for (const auto& d : spec.error()) lines.push_back(d.str());
  }
  return lines;
}

}  // namespace

int cmd_validate(const Settings& settings, const Invocation& inv, CommandIo& io) {
  std::size_t invalid = 0;
  for (const auto& path : inv.operands) {
    auto lines = problems_of(path, settings.config.pool);
    if (lines.empty()) {
      io.out << path << ": ok\n";
      continue;
    }
    ++invalid;
    for (const auto& line : lines) io.out << line << "\n";
  }
  io.out.flush();
  if (invalid == 0) return kExitOk;
  print_error(io.err, std::to_string(invalid) + " of " + std::to_string(inv.operands.size()) +
                          (inv.operands.size() == 1 ? " spec file is invalid" : " spec files are invalid"));
  return kExitFailed;
}

}  // namespace bs::supervisor
