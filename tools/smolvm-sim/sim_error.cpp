#include "tools/smolvm-sim/sim_error.h"

#include <cstring>

namespace bs::sim {

std::string os_error_text(int err) {
  return std::string(std::strerror(err)) + " (os error " + std::to_string(err) + ")";
}

}  // namespace bs::sim
