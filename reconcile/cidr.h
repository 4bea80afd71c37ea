// IPv4 addresses, CIDR networks (v4 and v6), egress allowlists and the loopback pool.
// Everything is canonical once parsed, so two allowlists compare equal exactly when they allow
// the same set of networks (CONTRACT.md §3).
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "reconcile/expected.h"

namespace bs {

struct Ipv4 {
  std::uint32_t value = 0;  // host byte order: 127.0.0.1 == 0x7f000001
  std::string str() const;
  auto operator<=>(const Ipv4&) const = default;
};

// Strict dotted quad: exactly four decimal octets 0..255, nothing else (no whitespace, no
// hex/octal forms, no "127.1" shorthand). An octet with a leading zero ("01.2.3.4") is rejected
// rather than guessed at: inet_aton would read it as octal, other parsers as decimal, and a
// security boundary must not depend on which one a reader happens to use.
Expected<Ipv4, std::string> parse_ipv4(std::string_view s);

struct Cidr {
  bool v6 = false;                      // v4 sorts before v6 (false < true)
  std::array<std::uint8_t, 16> addr{};  // network address, host bits masked; v4 uses addr[0..3]
  int prefix = 32;
  // Canonical: "10.0.0.0/8"; v6 in RFC 5952 form ("2001:db8::/32", "::ffff:1.2.3.4/128").
  std::string str() const;
  // v4 before v6, then network address, then prefix (member order does it).
  auto operator<=>(const Cidr&) const = default;
};

// "a.b.c.d/n" (n 0..32), a bare IPv4 address (-> /32), an IPv6 address with or without "/n"
// (n 0..128, bare -> /128). Host bits are masked: "10.1.2.3/8" -> 10.0.0.0/8. The prefix length is
// plain decimal without leading zeros or sign. IPv6 zone ids ("%eth0") are rejected: they name an
// interface, not a network. Errors name the value and the expected form.
Expected<Cidr, std::string> parse_cidr(std::string_view s);

Cidr host_cidr(Ipv4 a);  // a/32

using Allowlist = std::vector<Cidr>;  // canonical = sorted by operator<, no duplicates

Allowlist make_allowlist(std::vector<Cidr> cidrs);  // sort + dedupe
// For lists read back from smolvm (stored as written, host bits not masked): each entry parsed and
// the whole list canonicalised. Fails on the first entry that does not parse, naming its index.
Expected<Allowlist, std::string> parse_allowlist(const std::vector<std::string>& strs);
std::vector<std::string> to_strings(const Allowlist& a);
// ["10.0.0.0/8", "127.0.0.16/32"]: for messages and events.
std::string to_string(const Allowlist& a);

// The range bottles lease their loopback address from (CONTRACT.md §5). Loopback aliases have no
// network or broadcast address, so every address of the pool is leasable except the three that
// mean something to the host: 127.0.0.0, 127.0.0.1 and 127.255.255.255.
struct Ipv4Pool {
  Ipv4 network;  // masked to the prefix
  int prefix = 28;
  bool contains(Ipv4 a) const;
  bool leasable(Ipv4 a) const;
  std::uint64_t size() const;        // addresses in the pool, leasable or not
  Ipv4 at(std::uint64_t i) const;    // i-th address, ascending; i < size()
  std::uint64_t leasable_count() const;
  std::string str() const;           // "127.0.0.16/28"
  bool operator==(const Ipv4Pool&) const = default;
};

// An IPv4 "a.b.c.d/n" inside 127.0.0.0/8 with at least one leasable address; host bits masked.
// The "/n" is required: a bare address as a pool is more likely a typo than a one-address pool.
Expected<Ipv4Pool, std::string> parse_pool(std::string_view s);

}  // namespace bs
