// Linux only: the kernel's socket tables.
#include "platform/file_text.h"
#include "platform/listeners.h"

namespace bs::platform {

std::set<std::uint32_t> tcp_listeners() {
  std::set<std::uint32_t> out;
  if (auto v4 = read_file_text("/proc/net/tcp")) out = parse_tcp_listeners(*v4);
  if (auto v6 = read_file_text("/proc/net/tcp6")) out.merge(parse_tcp6_listeners(*v6));
  return out;
}

}  // namespace bs::platform
