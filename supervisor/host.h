// The host as the daemon reaches it outside smolvm's DB and the libuv loop: processes (the kill
// path) and listening sockets (lease choice). Each is a narrow interface (ProcessControl,
// ListenerTable) the parts that use them take by reference, so they are tested with fakes.
#pragma once

#include "supervisor/lease_choice.h"
#include "supervisor/vm_kill.h"

namespace bs::supervisor {

struct Host {
  HostProcesses processes;
  HostListeners listeners;
};

}  // namespace bs::supervisor
