// The open-file limit. The supervisor holds a pidfd per running VM (its exit watch) besides its
// sockets and databases, so 1,000 bottles need more than the soft limit systemd gives a user
// service by default (1,024); the hard limit (systemd: 524,288) is the one meant for programs
// that need many descriptors and do not use select(2), which neither we nor libuv do.
#pragma once

#include <string>

#include "reconcile/expected.h"

namespace bs::platform {

// Raises the soft RLIMIT_NOFILE to the hard limit. Returns the soft limit now in force.
bs::Expected<unsigned long long, std::string> raise_open_file_limit();

}  // namespace bs::platform
