// Loopback aliases for the lease pool. macOS only routes 127.0.0.1 on lo0 until each further
// address is aliased (`sudo ifconfig lo0 alias 127.0.0.N up`); Linux routes all of 127.0.0.0/8.
#pragma once

#include <cstdint>
#include <vector>

namespace bs::platform {

// The addresses first .. first+count-1 (host byte order) that are NOT configured on the loopback
// interface, ascending; always empty on Linux. The supervisor reports them, it never runs sudo.
std::vector<std::uint32_t> missing_loopback_aliases(std::uint32_t first, std::uint64_t count);

}  // namespace bs::platform
