#include <arpa/inet.h>

#include <charconv>
#include <optional>
#include <vector>

#include "platform/listeners.h"

namespace bs::platform {
namespace {

constexpr unsigned kTcpListen = 0x0A;  // TCP_LISTEN in the kernel's state numbering

std::vector<std::string_view> fields_of(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (pos < line.size()) {
    while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) ++pos;
    std::size_t end = pos;
    while (end < line.size() && line[end] != ' ' && line[end] != '\t') ++end;
    if (end > pos) out.push_back(line.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

std::optional<std::uint32_t> hex32(std::string_view s) {
  std::uint32_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
  if (s.size() != 8 || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// Calls `on_listener(address_hex)` for every row in LISTEN state; rows are
// "<sl>: <local addr hex>:<port hex> <remote> <st hex> ...", after one header line.
template <class F>
void for_each_listener(std::string_view table, F&& on_listener) {
  std::size_t pos = 0;
  while (pos < table.size()) {
    std::size_t eol = table.find('\n', pos);
    if (eol == std::string_view::npos) eol = table.size();
    const auto fields = fields_of(table.substr(pos, eol - pos));
    pos = eol + 1;
    if (fields.size() < 4 || fields[0].empty() || fields[0].back() != ':') continue;  // header
    const std::string_view local = fields[1];
    const auto colon = local.rfind(':');
    if (colon == std::string_view::npos) continue;
    unsigned state = 0;
    auto [end, ec] = std::from_chars(fields[3].data(), fields[3].data() + fields[3].size(), state, 16);
    if (ec != std::errc() || end != fields[3].data() + fields[3].size() || state != kTcpListen) continue;
    on_listener(local.substr(0, colon));
  }
}

}  // namespace

std::set<std::uint32_t> parse_tcp_listeners(std::string_view proc_net_tcp) {
  std::set<std::uint32_t> out;
  for_each_listener(proc_net_tcp, [&](std::string_view hex) {
    auto raw = hex32(hex);
    if (!raw) return;
    const std::uint32_t addr = ntohl(*raw);
    if (addr != 0) out.insert(addr);
  });
  return out;
}

std::set<std::uint32_t> parse_tcp6_listeners(std::string_view proc_net_tcp6) {
  std::set<std::uint32_t> out;
  for_each_listener(proc_net_tcp6, [&](std::string_view hex) {
    // Four 32-bit words, each printed like the IPv4 address above.
    if (hex.size() != 32) return;
    std::uint32_t word[4];
    for (int i = 0; i < 4; ++i) {
      auto w = hex32(hex.substr(static_cast<std::size_t>(i) * 8, 8));
      if (!w) return;
      word[i] = ntohl(*w);
    }
    if (word[0] != 0 || word[1] != 0 || word[2] != 0x0000ffffU) return;  // not ::ffff:a.b.c.d
    if (word[3] != 0) out.insert(word[3]);
  });
  return out;
}

}  // namespace bs::platform
