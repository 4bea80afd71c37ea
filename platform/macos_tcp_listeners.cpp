// Listening TCP sockets on macOS, where there is no /proc/net/tcp: every visible process's
// socket descriptors through libproc, like lsof. Only processes we may inspect are seen (our own
// user's, unless running as root); that covers what matters here, a bot-bottle launch by the
// same user. Compiled only on Apple hosts.
#include <arpa/inet.h>
#include <libproc.h>
#include <netinet/in.h>
#include <sys/proc_info.h>

#include <cstring>
#include <vector>

#include "platform/listeners.h"
#include "platform/process.h"

namespace bs::platform {
namespace {

// The IPv4 address (host order) a LISTEN socket is bound to, or 0 for anything else.
std::uint32_t listening_ipv4(const socket_fdinfo& info) {
  if (info.psi.soi_kind != SOCKINFO_TCP) return 0;
  const tcp_sockinfo& tcp = info.psi.soi_proto.pri_tcp;
  if (tcp.tcpsi_state != TSI_S_LISTEN) return 0;
  const in_sockinfo& inet = tcp.tcpsi_ini;
  if ((inet.insi_vflag & INI_IPV4) != 0) return ntohl(inet.insi_laddr.ina_46.i46a_addr4.s_addr);
  if ((inet.insi_vflag & INI_IPV6) != 0 && IN6_IS_ADDR_V4MAPPED(&inet.insi_laddr.ina_6)) {
    std::uint32_t v4 = 0;
    std::memcpy(&v4, &inet.insi_laddr.ina_6.s6_addr[12], sizeof v4);
    return ntohl(v4);
  }
  return 0;
}

}  // namespace

std::set<std::uint32_t> tcp_listeners() {
  std::set<std::uint32_t> out;
  for (std::int64_t pid : list_pids()) {
    const int p = static_cast<int>(pid);
    const int bytes = proc_pidinfo(p, PROC_PIDLISTFDS, 0, nullptr, 0);
    if (bytes <= 0) continue;  // gone, or not ours to inspect
    std::vector<proc_fdinfo> fds(static_cast<std::size_t>(bytes) / sizeof(proc_fdinfo) + 16);
    const int got = proc_pidinfo(p, PROC_PIDLISTFDS, 0, fds.data(), static_cast<int>(fds.size() * sizeof(proc_fdinfo)));
    if (got <= 0) continue;
    const auto count = static_cast<std::size_t>(got) / sizeof(proc_fdinfo);
    for (std::size_t i = 0; i < count; ++i) {
      if (fds[i].proc_fdtype != PROX_FDTYPE_SOCKET) continue;
      socket_fdinfo info{};
      if (proc_pidfdinfo(p, fds[i].proc_fd, PROC_PIDFDSOCKETINFO, &info, sizeof info) != static_cast<int>(sizeof info)) {
        continue;
      }
      if (const std::uint32_t addr = listening_ipv4(info); addr != 0) out.insert(addr);
    }
  }
  return out;
}

}  // namespace bs::platform
