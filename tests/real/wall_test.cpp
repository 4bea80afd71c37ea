// "The wall from inside": from a confined bottle's guest, the bottle's own leased address is
// reachable and another address of the pool is not. Host listeners (in this test, on 127.0.0.0/8
// only) count the connections that really arrived: the guest tool's own output is only reported.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <stdexcept>

#include "real/real_smolvm.h"

using namespace bs::real;

namespace {

// A TCP listener on one loopback address; the kernel completes connections into its backlog, so
// accept() afterwards tells whether anything connected.
class Listener {
 public:
  explicit Listener(const std::string& address) : address_(address) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = 0;
    if (::inet_pton(AF_INET, address.c_str(), &a.sin_addr) != 1 || (ntohl(a.sin_addr.s_addr) >> 24) != 127) {
      throw std::runtime_error("not a 127.0.0.0/8 address: " + address);
    }
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 16) != 0) {
      throw std::runtime_error("cannot listen on " + address);
    }
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~Listener() { ::close(fd_); }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  const std::string& address() const { return address_; }
  int port() const { return port_; }
  // Accepts (and answers, for wget) every connection that arrived; how many.
  int drain() {
    int n = 0;
    for (;;) {
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) break;
      static const char kReply[] = "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n";
      [[maybe_unused]] auto w = ::write(c, kReply, sizeof kReply - 1);
      ::close(c);
      ++n;
    }
    return n;
  }

 private:
  std::string address_;
  int fd_ = -1;
  int port_ = 0;
};

// One connection attempt from inside the guest, with whichever client the rootfs has.
RunResult connect_from_guest(const RealHome& h, const std::string& machine, const Listener& l) {
  const std::string ip = l.address(), port = std::to_string(l.port());
  const std::string script =
      "if command -v nc >/dev/null 2>&1; then nc -w 3 " + ip + " " + port + " </dev/null; "
      "elif command -v wget >/dev/null 2>&1; then wget -T 3 -q -O - http://" + ip + ":" + port + "/; "
      "else busybox nc -w 3 " + ip + " " + port + " </dev/null; fi";
  return h.smolvm({"machine", "exec", "--name", machine, "--", "sh", "-c", script}, Ms(60000));
}

}  // namespace

TEST_CASE("real boot: the wall from inside - the leased address is reachable, another pool address is not",
          "[real][boot]") {
  ProbeResult p = require_bootable();
  RealHome h;
  Daemon d(h);
  d.wait_answering();
  h.write_spec("b1", boot_spec(p));
  Json b = h.wait_verified("b1", Ms(180000));
  REQUIRE(b["address"] == "127.0.0.16");
  REQUIRE(h.agent_policy("bottle-b1") == kFirstAllowlist);

  Listener leased("127.0.0.16");
  Listener other("127.0.0.17");  // in the pool, leased to nobody: outside this bottle's wall
  RunResult to_leased = connect_from_guest(h, "bottle-b1", leased);
  RunResult to_other = connect_from_guest(h, "bottle-b1", other);
  const int arrived_leased = leased.drain();
  const int arrived_other = other.drain();
  WARN("guest -> 127.0.0.16 (leased): " << arrived_leased << " connection(s); " << to_leased.describe());
  WARN("guest -> 127.0.0.17 (other): " << arrived_other << " connection(s); " << to_other.describe());
  // The leased one proves the guest's client works; the other one is the wall.
  CHECK(arrived_leased >= 1);
  CHECK(arrived_other == 0);
  CHECK(to_other.exit_code != 0);
}
