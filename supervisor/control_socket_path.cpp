#include "supervisor/control_socket_path.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "platform/unix_socket.h"

namespace bs::supervisor {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

std::string parent_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string base_of(const std::string& dir) {
  auto slash = dir.find_last_of('/');
  return slash == std::string::npos ? dir : dir.substr(slash + 1);
}

// mkdir -p with 0700 for every folder we create.
std::optional<std::string> make_folders(const std::string& dir) {
  struct stat st{};
  if (stat(dir.c_str(), &st) == 0) return std::nullopt;
  if (errno != ENOENT) return "cannot use the socket folder " + dir + ": " + errno_text(errno);
  std::string parent = parent_of(dir);
  if (parent != dir) {
    if (auto err = make_folders(parent)) return err;
  }
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return "cannot create the socket folder " + dir + ": " + errno_text(errno);
  }
  return std::nullopt;
}

}  // namespace

std::size_t max_socket_path_length() { return sizeof(sockaddr_un::sun_path) - 1; }

std::optional<std::string> check_socket_path_length(const std::string& path) {
  if (path.size() <= max_socket_path_length()) return std::nullopt;
  return "socket path is too long (" + std::to_string(path.size()) + " bytes, at most " +
         std::to_string(max_socket_path_length()) + "): " + path;
}

std::optional<std::string> prepare_socket_folder(const std::string& socket_path) {
  const std::string dir = parent_of(socket_path);
  if (auto err = make_folders(dir)) return err;
  struct stat st{};
  if (stat(dir.c_str(), &st) != 0) return "cannot use the socket folder " + dir + ": " + errno_text(errno);
  if (!S_ISDIR(st.st_mode)) return "the socket folder " + dir + " is not a directory";
  const bool ours = st.st_uid == geteuid();
  if ((st.st_mode & 077) != 0 && ours && base_of(dir) == "bottle-supervisor") {
    if (chmod(dir.c_str(), 0700) != 0) {
      return "cannot make the socket folder " + dir + " private (chmod 0700): " + errno_text(errno);
    }
    return std::nullopt;
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0) {
    return "the socket folder " + dir + " is writable by other users, who could replace the socket; "
           "use a private folder (--socket)";
  }
  return std::nullopt;
}

std::optional<std::string> clear_stale_socket(const std::string& socket_path) {
  struct stat st{};
  if (lstat(socket_path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::nullopt;
    return "cannot check " + socket_path + ": " + errno_text(errno);
  }
  if (!S_ISSOCK(st.st_mode)) {
    return socket_path + " exists and is not a socket; remove it or choose another --socket";
  }
  if (auto err = check_socket_path_length(socket_path)) return err;
  int fd = platform::unix_stream_socket();
  if (fd < 0) return "cannot create a socket: " + errno_text(errno);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  int rc = connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  int err = errno;
  close(fd);
  // EAGAIN: a listener whose backlog is full is still a live listener.
  if (rc == 0 || err == EAGAIN || err == EINPROGRESS) {
    return "another bottle-supervisor is already listening on " + socket_path;
  }
  if (err == ECONNREFUSED) {
    if (unlink(socket_path.c_str()) != 0 && errno != ENOENT) {
      return "cannot remove the stale socket " + socket_path + ": " + errno_text(errno);
    }
    return std::nullopt;
  }
  if (err == ENOENT) return std::nullopt;
  return "cannot check whether " + socket_path + " is in use: " + errno_text(err);
}

}  // namespace bs::supervisor
