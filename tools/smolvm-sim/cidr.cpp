#include "tools/smolvm-sim/cidr.h"

#include <arpa/inet.h>

#include <optional>

namespace bs::sim {
namespace {

// Rust's Ipv4Addr parser: exactly four decimal octets, no leading zeros, each <= 255.
std::optional<std::string> ipv4(const std::string& s) {
  int parts = 0;
  std::size_t i = 0;
  while (parts < 4) {
    std::size_t start = i;
    unsigned v = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - start < 3) v = v * 10 + static_cast<unsigned>(s[i++] - '0');
    std::size_t len = i - start;
    if (len == 0 || v > 255 || (len > 1 && s[start] == '0')) return std::nullopt;
    ++parts;
    if (parts < 4) {
      if (i >= s.size() || s[i] != '.') return std::nullopt;
      ++i;
    }
  }
  if (i != s.size()) return std::nullopt;
  return s;
}

std::optional<std::string> ipv6(const std::string& s) {
  in6_addr a{};
  if (s.find_first_not_of("0123456789abcdefABCDEF:.") != std::string::npos) return std::nullopt;
  if (inet_pton(AF_INET6, s.c_str(), &a) != 1) return std::nullopt;
  char buf[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(AF_INET6, &a, buf, sizeof buf) == nullptr) return std::nullopt;
  return std::string(buf);
}

std::optional<unsigned> prefix(const std::string& s, unsigned max) {
  if (s.empty() || s.size() > 3) return std::nullopt;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > max) return std::nullopt;
  return v;
}

}  // namespace

Expected<std::string, std::string> parse_cidr(const std::string& s) {
  const std::string error = "invalid CIDR '" + s + "': expected format like 10.0.0.0/8 or 1.1.1.1";
  auto slash = s.find('/');
  std::string addr = slash == std::string::npos ? s : s.substr(0, slash);
  std::optional<unsigned> len;
  if (auto v4 = ipv4(addr)) {
    len = slash == std::string::npos ? std::optional<unsigned>(32) : prefix(s.substr(slash + 1), 32);
    if (!len) return unexpected(error);
    return *v4 + "/" + std::to_string(*len);
  }
  if (auto v6 = ipv6(addr)) {
    len = slash == std::string::npos ? std::optional<unsigned>(128) : prefix(s.substr(slash + 1), 128);
    if (!len) return unexpected(error);
    return *v6 + "/" + std::to_string(*len);
  }
  return unexpected(error);
}

}  // namespace bs::sim
