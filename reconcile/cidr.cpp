#include "reconcile/cidr.h"

#include <algorithm>
#include <cstdio>
#include <optional>

#include "reconcile/quote.h"

namespace bs {
namespace {

constexpr std::string_view kCidrForms =
    "use a.b.c.d/n (n 0..32), a bare IPv4 address, or an IPv6 network like 2001:db8::/32 (n 0..128)";

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    const std::size_t at = s.find(sep, start);
    if (at == std::string_view::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, at - start));
    start = at + 1;
  }
}

// Why s is not a dotted quad, or the address.
Expected<Ipv4, std::string> ipv4_or_reason(std::string_view s) {
  if (s.empty()) return unexpected(std::string("it is empty"));
  const auto octets = split(s, '.');
  if (octets.size() != 4) return unexpected(std::string("expected four decimal octets a.b.c.d"));
  std::uint32_t value = 0;
  for (std::string_view o : octets) {
    if (o.empty()) return unexpected(std::string("an octet is empty"));
    if (!std::all_of(o.begin(), o.end(), is_digit)) {
      return unexpected("octet " + bs::quoted(o) + " is not a decimal number");
    }
    if (o.size() > 1 && o[0] == '0') {
      return unexpected("octet " + bs::quoted(o) + " has a leading zero (octal or decimal is ambiguous)");
    }
    unsigned n = 0;
    if (o.size() <= 3) {
      for (char c : o) n = n * 10 + static_cast<unsigned>(c - '0');
    }
    if (o.size() > 3 || n > 255) return unexpected("octet " + bs::quoted(o) + " is out of range (0..255)");
    value = (value << 8) | n;
  }
  return Ipv4{value};
}

// Not inet_pton/inet_ntop: glibc prints IPv4-compatible addresses dotted ("::1.2.3.4") where
// smolvm's Rust prints "::102:304", and the canonical text must match what smolvm writes.
using Words = std::array<std::uint16_t, 8>;

// Appends the 16-bit groups of one side of "::" to out; the last group of the whole address may be
// an embedded dotted quad (two groups).
std::optional<std::string> ipv6_groups(std::string_view side, bool ends_address,
                                       std::vector<std::uint16_t>& out) {
  if (side.empty()) return std::nullopt;
  const auto groups = split(side, ':');
  for (std::size_t i = 0; i < groups.size(); ++i) {
    const std::string_view g = groups[i];
    if (g.empty()) return "empty group (a single ':' at an end, or ':::')";
    if (g.find('.') != std::string_view::npos) {
      if (!ends_address || i + 1 != groups.size()) {
        return "an embedded IPv4 address may only be the last part";
      }
      auto v4 = ipv4_or_reason(g);
      if (!v4) return "embedded IPv4 " + bs::quoted(g) + ": " + v4.error();
      out.push_back(static_cast<std::uint16_t>(v4->value >> 16));
      out.push_back(static_cast<std::uint16_t>(v4->value & 0xffff));
      continue;
    }
    if (g.size() > 4) return "group " + bs::quoted(g) + " has more than 4 hex digits";
    unsigned w = 0;
    for (char c : g) {
      const int h = hex_value(c);
      if (h < 0) return "group " + bs::quoted(g) + " is not hexadecimal";
      w = (w << 4) | static_cast<unsigned>(h);
    }
    out.push_back(static_cast<std::uint16_t>(w));
  }
  return std::nullopt;
}

Expected<Words, std::string> ipv6_or_reason(std::string_view s) {
  if (s.find('%') != std::string_view::npos) {
    return unexpected(std::string("zone ids ('%...') name an interface, not a network"));
  }
  const std::size_t gap = s.find("::");
  if (gap != std::string_view::npos && s.find("::", gap + 1) != std::string_view::npos) {
    return unexpected(std::string("'::' may appear only once"));
  }
  std::vector<std::uint16_t> head, tail;
  const std::string_view head_text = gap == std::string_view::npos ? s : s.substr(0, gap);
  if (auto e = ipv6_groups(head_text, gap == std::string_view::npos, head)) return unexpected(*e);
  if (gap != std::string_view::npos) {
    if (auto e = ipv6_groups(s.substr(gap + 2), true, tail)) return unexpected(*e);
  }
  Words w{};
  if (gap == std::string_view::npos) {
    if (head.size() != 8) {
      return unexpected("expected 8 groups, found " + std::to_string(head.size()) +
                        " (use '::' for a run of zero groups)");
    }
    std::copy(head.begin(), head.end(), w.begin());
    return w;
  }
  if (head.size() + tail.size() > 7) {
    return unexpected(std::string("too many groups around '::' (at most 7 besides it)"));
  }
  std::copy(head.begin(), head.end(), w.begin());
  std::copy(tail.begin(), tail.end(), w.end() - static_cast<std::ptrdiff_t>(tail.size()));
  return w;
}

std::string hex_word(std::uint16_t w) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%x", static_cast<unsigned>(w));
  return buf;
}

// RFC 5952: lowercase, no leading zeros, the longest run (>= 2) of zero groups as "::" (the first
// on a tie), and IPv4-mapped addresses with a dotted tail.
std::string format_ipv6(const std::array<std::uint8_t, 16>& b) {
  Words w{};
  for (std::size_t i = 0; i < 8; ++i) w[i] = static_cast<std::uint16_t>((b[2 * i] << 8) | b[2 * i + 1]);
  if (std::all_of(w.begin(), w.begin() + 5, [](std::uint16_t x) { return x == 0; }) && w[5] == 0xffff) {
    const Ipv4 v4{(std::uint32_t{b[12]} << 24) | (std::uint32_t{b[13]} << 16) |
                  (std::uint32_t{b[14]} << 8) | b[15]};
    return "::ffff:" + v4.str();
  }
  int best = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (w[static_cast<std::size_t>(i)] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && w[static_cast<std::size_t>(j)] == 0) ++j;
    if (j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  if (best_len < 2) best = -1;
  std::string out;
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    out += hex_word(w[static_cast<std::size_t>(i)]);
  }
  return out;
}

void mask_host_bits(std::array<std::uint8_t, 16>& addr, int prefix, int total_bits) {
  for (int bit = prefix; bit < total_bits; ++bit) {
    addr[static_cast<std::size_t>(bit / 8)] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  }
}

// Why the text after '/' is not a prefix length in 0..max, or the length.
Expected<int, std::string> prefix_or_reason(std::string_view p, int max) {
  const std::string range = "(0.." + std::to_string(max) + ")";
  if (p.empty()) return unexpected("the prefix length after '/' is empty " + range);
  if (!std::all_of(p.begin(), p.end(), is_digit)) {
    return unexpected("prefix length " + bs::quoted(p) + " is not a decimal number " + range);
  }
  if (p.size() > 1 && p[0] == '0') {
    return unexpected("prefix length " + bs::quoted(p) + " has a leading zero");
  }
  if (p.size() > 3) return unexpected("prefix length " + bs::quoted(p) + " is out of range " + range);
  int n = 0;
  for (char c : p) n = n * 10 + (c - '0');
  if (n > max) return unexpected("prefix length " + bs::quoted(p) + " is out of range " + range);
  return n;
}

Expected<Cidr, std::string> cidr_or_reason(std::string_view s) {
  if (s.empty()) return unexpected(std::string("it is empty"));
  const std::size_t slash = s.find('/');
  const std::string_view addr_text = s.substr(0, slash);
  const bool v6 = addr_text.find(':') != std::string_view::npos;
  Cidr c;
  c.v6 = v6;
  if (v6) {
    auto words = ipv6_or_reason(addr_text);
    if (!words) return unexpected(words.error());
    for (std::size_t i = 0; i < 8; ++i) {
      c.addr[2 * i] = static_cast<std::uint8_t>((*words)[i] >> 8);
      c.addr[2 * i + 1] = static_cast<std::uint8_t>((*words)[i] & 0xff);
    }
    c.prefix = 128;
  } else {
    auto v4 = ipv4_or_reason(addr_text);
    if (!v4) {
      // "github.com" in an allowlist is a common slip; say so rather than count its octets.
      const bool letters = std::any_of(addr_text.begin(), addr_text.end(), [](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
      });
      if (letters && split(addr_text, '.').size() != 4) {
        return unexpected(std::string("host names are not allowed, only IP networks"));
      }
      return unexpected(v4.error());
    }
    for (std::size_t i = 0; i < 4; ++i) c.addr[i] = static_cast<std::uint8_t>(v4->value >> (24 - 8 * i));
    c.prefix = 32;
  }
  if (slash != std::string_view::npos) {
    auto p = prefix_or_reason(s.substr(slash + 1), v6 ? 128 : 32);
    if (!p) return unexpected(p.error());
    c.prefix = *p;
  }
  mask_host_bits(c.addr, c.prefix, v6 ? 128 : 32);
  return c;
}

std::uint32_t pool_mask(int prefix) { return prefix == 0 ? 0u : ~std::uint32_t{0} << (32 - prefix); }

constexpr std::uint32_t kNetwork127 = 0x7f000000;
constexpr std::uint32_t kLocalhost = 0x7f000001;
constexpr std::uint32_t kBroadcast127 = 0x7fffffff;

}  // namespace

std::string Ipv4::str() const {
  return std::to_string(value >> 24) + '.' + std::to_string((value >> 16) & 0xff) + '.' +
         std::to_string((value >> 8) & 0xff) + '.' + std::to_string(value & 0xff);
}

Expected<Ipv4, std::string> parse_ipv4(std::string_view s) {
  auto a = ipv4_or_reason(s);
  if (!a) return unexpected(bs::quoted(s) + " is not a valid IPv4 address: " + a.error());
  return a;
}

std::string Cidr::str() const {
  if (v6) return format_ipv6(addr) + '/' + std::to_string(prefix);
  const Ipv4 a{(std::uint32_t{addr[0]} << 24) | (std::uint32_t{addr[1]} << 16) |
               (std::uint32_t{addr[2]} << 8) | addr[3]};
  return a.str() + '/' + std::to_string(prefix);
}

Expected<Cidr, std::string> parse_cidr(std::string_view s) {
  auto c = cidr_or_reason(s);
  if (!c) return unexpected(bs::quoted(s) + " is not a valid CIDR: " + c.error() + "; " + std::string(kCidrForms));
  return c;
}

Cidr host_cidr(Ipv4 a) {
  Cidr c;
  for (std::size_t i = 0; i < 4; ++i) c.addr[i] = static_cast<std::uint8_t>(a.value >> (24 - 8 * i));
  c.prefix = 32;
  return c;
}

Allowlist make_allowlist(std::vector<Cidr> cidrs) {
  std::sort(cidrs.begin(), cidrs.end());
  cidrs.erase(std::unique(cidrs.begin(), cidrs.end()), cidrs.end());
  return cidrs;
}

Expected<Allowlist, std::string> parse_allowlist(const std::vector<std::string>& strs) {
  std::vector<Cidr> cidrs;
  cidrs.reserve(strs.size());
  for (std::size_t i = 0; i < strs.size(); ++i) {
    auto c = parse_cidr(strs[i]);
    if (!c) {
      return unexpected("allowlist entry " + std::to_string(i + 1) + " of " +
                        std::to_string(strs.size()) + ": " + c.error());
    }
    cidrs.push_back(*c);
  }
  return make_allowlist(std::move(cidrs));
}

std::vector<std::string> to_strings(const Allowlist& a) {
  std::vector<std::string> out;
  out.reserve(a.size());
  for (const Cidr& c : a) out.push_back(c.str());
  return out;
}

std::string to_string(const Allowlist& a) {
  std::string out = "[";
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (i > 0) out += ", ";
    out += '"' + a[i].str() + '"';
  }
  return out + "]";
}

bool Ipv4Pool::contains(Ipv4 a) const { return (a.value & pool_mask(prefix)) == network.value; }

bool Ipv4Pool::leasable(Ipv4 a) const {
  return contains(a) && a.value != kNetwork127 && a.value != kLocalhost && a.value != kBroadcast127;
}

std::uint64_t Ipv4Pool::size() const { return std::uint64_t{1} << (32 - prefix); }

Ipv4 Ipv4Pool::at(std::uint64_t i) const { return Ipv4{network.value + static_cast<std::uint32_t>(i)}; }

std::uint64_t Ipv4Pool::leasable_count() const {
  std::uint64_t n = size();
  for (std::uint32_t reserved : {kNetwork127, kLocalhost, kBroadcast127}) {
    if (contains(Ipv4{reserved})) --n;
  }
  return n;
}

std::string Ipv4Pool::str() const { return network.str() + '/' + std::to_string(prefix); }

Expected<Ipv4Pool, std::string> parse_pool(std::string_view s) {
  const std::string example = " (e.g. \"127.0.0.16/28\")";
  if (s.find(':') != std::string_view::npos) {
    return unexpected("loopback pool " + bs::quoted(s) + " must be an IPv4 network inside 127.0.0.0/8" + example);
  }
  if (s.find('/') == std::string_view::npos) {
    return unexpected("loopback pool " + bs::quoted(s) + " needs a prefix length: write it as a.b.c.d/n" + example);
  }
  auto c = cidr_or_reason(s);
  if (!c) return unexpected("loopback pool " + bs::quoted(s) + " is not a valid IPv4 network: " + c.error() + example);
  Ipv4Pool pool;
  pool.network = Ipv4{(std::uint32_t{c->addr[0]} << 24) | (std::uint32_t{c->addr[1]} << 16) |
                      (std::uint32_t{c->addr[2]} << 8) | c->addr[3]};
  pool.prefix = c->prefix;
  if (pool.prefix < 8 || (pool.network.value >> 24) != 127) {
    return unexpected("loopback pool " + bs::quoted(s) + " must lie inside 127.0.0.0/8" + example);
  }
  if (pool.leasable_count() == 0) {
    return unexpected("loopback pool " + bs::quoted(s) +
                      " has no leasable address (127.0.0.0, 127.0.0.1 and 127.255.255.255 are never leased)");
  }
  return pool;
}

}  // namespace bs
