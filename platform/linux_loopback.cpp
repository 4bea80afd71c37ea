// Linux routes all of 127.0.0.0/8 to lo: every pool address works without an alias.
#include "platform/loopback.h"

namespace bs::platform {

std::vector<std::uint32_t> missing_loopback_aliases(std::uint32_t /*first*/, std::uint64_t /*count*/) {
  return {};
}

}  // namespace bs::platform
