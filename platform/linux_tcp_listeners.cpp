// Linux only: the kernel's socket tables. sock_diag (netlink) is asked for listening sockets
// only, filtered by the kernel; /proc/net/tcp{,6} lists every socket of the namespace (each
// established connection too) and costs milliseconds on a busy host, so it is the fallback.
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "platform/file_text.h"
#include "platform/listeners.h"
#include "platform/unique_fd.h"

namespace bs::platform {
namespace {

// One SOCK_DIAG_BY_FAMILY dump of TCP sockets in LISTEN state; false on any failure.
bool dump_listeners(int family, std::set<std::uint32_t>& out) {
  UniqueFd sock(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (sock.get() < 0) return false;
  struct {
    nlmsghdr nlh;
    inet_diag_req_v2 req;
  } msg{};
  msg.nlh.nlmsg_len = sizeof msg;
  msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  msg.nlh.nlmsg_seq = 1;
  msg.req.sdiag_family = static_cast<std::uint8_t>(family);
  msg.req.sdiag_protocol = IPPROTO_TCP;
  msg.req.idiag_states = 1U << TCP_LISTEN;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(sock.get(), &msg, sizeof msg, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) {
    return false;
  }
  char buf[32768];
  for (;;) {
    ssize_t n = ::recv(sock.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    // Walked by offset and copied out (memcpy), not cast in place: the buffer is bytes.
    const auto len = static_cast<std::size_t>(n);
    std::size_t off = 0;
    while (off + sizeof(nlmsghdr) <= len) {
      nlmsghdr h{};
      std::memcpy(&h, buf + off, sizeof h);
      if (h.nlmsg_len < sizeof(nlmsghdr) || off + h.nlmsg_len > len) return false;
      if (h.nlmsg_type == NLMSG_DONE) return true;
      if (h.nlmsg_type == NLMSG_ERROR) return false;
      if (h.nlmsg_type == SOCK_DIAG_BY_FAMILY && h.nlmsg_len >= NLMSG_LENGTH(sizeof(inet_diag_msg))) {
        inet_diag_msg d{};
        std::memcpy(&d, buf + off + NLMSG_HDRLEN, sizeof d);
        const auto* src = d.id.idiag_src;  // network byte order
        if (d.idiag_family == AF_INET) {
          if (src[0] != 0) out.insert(ntohl(src[0]));  // 0.0.0.0 (any address) does not count
        } else if (d.idiag_family == AF_INET6 && src[0] == 0 && src[1] == 0 && src[2] == htonl(0xffff)) {
          out.insert(ntohl(src[3]));  // ::ffff:a.b.c.d accepts IPv4 connections to a.b.c.d
        }
      }
      off += NLMSG_ALIGN(h.nlmsg_len);
    }
  }
}

}  // namespace

std::optional<std::set<std::uint32_t>> tcp_listeners_from_sock_diag() {
  std::set<std::uint32_t> out;
  if (!dump_listeners(AF_INET, out) || !dump_listeners(AF_INET6, out)) return std::nullopt;
  return out;
}

std::set<std::uint32_t> tcp_listeners_from_proc() {
  std::set<std::uint32_t> out;
  if (auto v4 = read_file_text("/proc/net/tcp")) out = parse_tcp_listeners(*v4);
  if (auto v6 = read_file_text("/proc/net/tcp6")) out.merge(parse_tcp6_listeners(*v6));
  return out;
}

std::set<std::uint32_t> tcp_listeners() {
  if (auto fast = tcp_listeners_from_sock_diag()) return *fast;
  return tcp_listeners_from_proc();
}

}  // namespace bs::platform
