// Who is at the other end of a connected Unix socket (SO_PEERCRED on Linux, getpeereid on macOS):
// the daemon checks its clients with it, and the CLI checks the daemon, so that whoever managed
// to bind the socket path first is never trusted with a request or believed in a reply.
#pragma once

#include <optional>

namespace bs::platform {

struct PeerCredentials {
  long long uid = -1;
  long long pid = -1;  // -1 where the platform does not tell
};

// nullopt when the kernel does not tell (not a Unix socket, peer gone).
std::optional<PeerCredentials> peer_credentials(int fd);

}  // namespace bs::platform
