// macOS routes only 127.0.0.1 on lo0 until each further address is aliased
// (`sudo ifconfig lo0 alias 127.0.0.N up`). Compiled only on Apple hosts.
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <cstring>
#include <set>

#include "platform/loopback.h"

namespace bs::platform {

std::vector<std::uint32_t> missing_loopback_aliases(std::uint32_t first, std::uint64_t count) {
  std::set<std::uint32_t> configured;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) == 0) {
    for (const ifaddrs* ifa = list; ifa != nullptr; ifa = ifa->ifa_next) {
      if (ifa->ifa_addr == nullptr || ifa->ifa_addr->sa_family != AF_INET) continue;
      if ((ifa->ifa_flags & IFF_LOOPBACK) == 0) continue;
      sockaddr_in sin{};  // copied: a sockaddr* promises no sockaddr_in alignment
      std::memcpy(&sin, ifa->ifa_addr, sizeof sin);
      configured.insert(ntohl(sin.sin_addr.s_addr));
    }
    ::freeifaddrs(list);
  }
  // When the interfaces cannot be listed, every address reads as missing: preflight then
  // prints the alias commands, which are harmless to run again.
  std::vector<std::uint32_t> missing;
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint64_t address = std::uint64_t{first} + i;
    if (address > 0xffffffffULL) break;
    if (configured.count(static_cast<std::uint32_t>(address)) == 0) {
      missing.push_back(static_cast<std::uint32_t>(address));
    }
  }
  return missing;
}

}  // namespace bs::platform
