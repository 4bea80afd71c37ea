// Getting the control socket's path ready before bind: a private folder, and no stale socket
// left behind by a daemon that died (a live one is an error: there is already a daemon).
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace bs::supervisor {

// Longest socket path the OS accepts (sockaddr_un.sun_path minus its NUL). libuv 1.44 truncates
// longer paths silently, so both ends check first.
std::size_t max_socket_path_length();
std::optional<std::string> check_socket_path_length(const std::string& path);

// Creates the socket's folder (and missing parents) with mode 0700. An existing folder named
// "bottle-supervisor" that we own is tightened to 0700; any other existing folder is left as it is
// (it may be $HOME or /run), but one that others can write into without the sticky bit is refused,
// since they could swap the socket. Returns an error message, or nullopt when ready.
std::optional<std::string> prepare_socket_folder(const std::string& socket_path);

// No file: fine. A socket nobody listens on (ECONNREFUSED): removed. A socket with a live listener:
// "another bottle-supervisor is already listening on <path>". Anything that is not a socket is
// never removed.
std::optional<std::string> clear_stale_socket(const std::string& socket_path);

}  // namespace bs::supervisor
