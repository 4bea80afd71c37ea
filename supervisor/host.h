// The host as the daemon reaches it outside smolvm's DB and the libuv loop: processes (the kill
// path), listening sockets (lease choice) and smolvm's CLI (the command slots). Each is a narrow
// interface, so the executor is tested with fakes (tests/unit/daemon/executor_test.cpp).
#pragma once

#include <uv.h>

#include <memory>

#include "supervisor/command_slots.h"
#include "supervisor/lease_choice.h"
#include "supervisor/vm_kill.h"

namespace bs::supervisor {

struct Host {
  std::unique_ptr<ProcessControl> processes;
  std::unique_ptr<ListenerTable> listeners;
  std::unique_ptr<SmolvmCommands> smolvm;

  // This machine's, with smolvm's commands run as child processes on `loop`.
  static Host of(uv_loop_t* loop) {
    return Host{std::make_unique<HostProcesses>(), std::make_unique<HostListeners>(),
                std::make_unique<SmolvmProcesses>(loop)};
  }
};

}  // namespace bs::supervisor
