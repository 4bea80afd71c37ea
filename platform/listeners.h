// Which loopback addresses already have a TCP listener: an address in the pool that something
// else listens on (a bot-bottle launch outside the supervisor) must not be leased.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string_view>

namespace bs::platform {

// IPv4 addresses, host byte order (127.0.0.16 == 0x7f000010), with a socket in LISTEN state
// bound to exactly that address; wildcard listeners (0.0.0.0) do not count. Pure.
// /proc/net/tcp prints each address as the hex of the in-memory (network-order) 32-bit value
// read as a native integer ("1000007F" for 127.0.0.16 on little-endian x86): parsing the hex
// and applying ntohl gives host order on either endianness.
std::set<std::uint32_t> parse_tcp_listeners(std::string_view proc_net_tcp);
// The same for /proc/net/tcp6, keeping only IPv4-mapped addresses (::ffff:a.b.c.d): a v6 socket
// bound to one accepts IPv4 connections to a.b.c.d. The wildcard :: does not count. Pure.
std::set<std::uint32_t> parse_tcp6_listeners(std::string_view proc_net_tcp6);

// Both tables of this host (network namespace): from sock_diag, else from /proc/net/tcp{,6};
// empty when neither can be read.
std::set<std::uint32_t> tcp_listeners();
#ifdef __linux__
// The two ways, for tests: netlink sock_diag (nullopt when it cannot be asked), and /proc.
std::optional<std::set<std::uint32_t>> tcp_listeners_from_sock_diag();
std::set<std::uint32_t> tcp_listeners_from_proc();
#endif

}  // namespace bs::platform
