#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "platform/listeners.h"

using namespace bs::platform;

namespace {

// Lines in the kernel's format (x86, little-endian): 127.0.0.16 prints as 1000007F.
constexpr const char* kTcpSample =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 42 1 0000000000000000 100 0 0 10 0\n"
    "   1: 1000007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4711 1 0000000000000000 100 0 0 10 0\n"
    "   2: 1100007F:C350 1000007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 4712 1 0000000000000000 20 4 30 10 -1\n"
    "   3: 0100007F:0277 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 99 1 0000000000000000 100 0 0 10 0\n"
    "   4: 1200007F:0050 00000000:0000 06 00000000:00000000 03:00000D4F 00000000     0        0 0 3 0000000000000000\n";

constexpr const char* kTcp6Sample =
    "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n"
    "   1: 0000000000000000FFFF00001300007F:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0\n"
    "   2: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0\n"
    "   3: 0000000000000000FFFF00001400007F:1F90 0000000000000000FFFF00001000007F:0050 01 00000000:00000000 00:00000000 00000000     0        0 4 1 0 100 0 0 10 0\n";

class Socket {
 public:
  Socket() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) { REQUIRE(fd_ >= 0); }
  ~Socket() { ::close(fd_); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }
  void bind_to(std::uint32_t host_order_addr, std::uint16_t port = 0) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(host_order_addr);
    sa.sin_port = htons(port);
    REQUIRE(::bind(fd_, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0);
  }
  sockaddr_in local() const {
    sockaddr_in sa{};
    socklen_t len = sizeof sa;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
    return sa;
  }

 private:
  int fd_;
};

}  // namespace

TEST_CASE("parse_tcp_listeners keeps LISTEN sockets on a specific address", "[platform]") {
  const auto found = parse_tcp_listeners(kTcpSample);
  // 127.0.0.16 and 127.0.0.1 listen; 0.0.0.0 is a wildcard; .17 is only a connected client; .18
  // is in TIME_WAIT.
  CHECK(found == std::set<std::uint32_t>{0x7f000001U, 0x7f000010U});
  CHECK(parse_tcp_listeners("").empty());
  CHECK(parse_tcp_listeners("garbage\n   0: zz:1 00000000:0000 0A\n").empty());
}

TEST_CASE("parse_tcp6_listeners keeps IPv4-mapped listeners only", "[platform]") {
  CHECK(parse_tcp6_listeners(kTcp6Sample) == std::set<std::uint32_t>{0x7f000013U});
}

TEST_CASE("tcp_listeners sees a live listener on 127.0.0.23 but not a client", "[platform]") {
  const std::uint32_t server_addr = 0x7f000017U;  // 127.0.0.23
  const std::uint32_t client_addr = 0x7f000018U;  // 127.0.0.24
  Socket server;
  server.bind_to(server_addr);
  REQUIRE(::listen(server.fd(), 4) == 0);

  Socket client;
  client.bind_to(client_addr);
  const sockaddr_in target = server.local();
  REQUIRE(::connect(client.fd(), reinterpret_cast<const sockaddr*>(&target), sizeof target) == 0);

  const auto found = tcp_listeners();
  CHECK(found.count(server_addr) == 1);
  CHECK(found.count(client_addr) == 0);
  CHECK(found.count(0) == 0);

  // Both sources agree on what matters here (sock_diag is the one used when it answers).
  const auto by_netlink = bs::platform::tcp_listeners_from_sock_diag();
  REQUIRE(by_netlink.has_value());
  const auto by_proc = bs::platform::tcp_listeners_from_proc();
  for (const auto* set : {&*by_netlink, &by_proc}) {
    CHECK(set->count(server_addr) == 1);
    CHECK(set->count(client_addr) == 0);
    CHECK(set->count(0) == 0);
  }
}

TEST_CASE("sock_diag sees an IPv4-mapped IPv6 listener as its IPv4 address", "[platform]") {
  int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  REQUIRE(::inet_pton(AF_INET6, "::ffff:127.0.0.25", &a.sin6_addr) == 1);
  REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(fd, 1) == 0);
  const auto by_netlink = bs::platform::tcp_listeners_from_sock_diag();
  const auto by_proc = bs::platform::tcp_listeners_from_proc();
  ::close(fd);
  REQUIRE(by_netlink.has_value());
  CHECK(by_netlink->count(0x7f000019U) == 1);
  CHECK(by_proc.count(0x7f000019U) == 1);
}
