#include "platform/peer_credentials.h"

#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

namespace bs::platform {

std::optional<PeerCredentials> peer_credentials(int fd) {
  PeerCredentials p;
#if defined(SO_PEERCRED)
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return std::nullopt;
  p.uid = cred.uid;
  p.pid = cred.pid;
#else
  uid_t uid = 0;
  gid_t gid = 0;
  if (getpeereid(fd, &uid, &gid) != 0) return std::nullopt;
  p.uid = uid;
#endif
  return p;
}

}  // namespace bs::platform
