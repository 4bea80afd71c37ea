// The VM stand-in. smolvm's `machine start` spawns `/proc/self/exe _boot-vm <data_dir>/boot-config.json`
// in its own process group with stdio on /dev/null and does not wait for it; libkrun runs inside
// that process, so its pid *is* the VM. The sim's stand-in only waits for a signal, so hundreds fit
// in a few hundred MiB.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>

#include "reconcile/expected.h"

namespace bs::sim {

// `_boot-vm <boot-config path>`: checks the config is readable, reports ready, then sleeps until
// SIGTERM/SIGINT (exit 0) or SIGKILL; with SMOLVM_SIM_VM_EXIT_AFTER_MS=N it exits 1 after N ms.
int boot_vm_main(int argc, char** argv);

// Spawns the stand-in (fork + exec of /proc/self/exe) and waits up to `ready_timeout` for its
// ready handshake. On failure the child is stopped and the error says why.
Expected<pid_t, std::string> spawn_boot_vm(const std::string& boot_config_path,
                                           std::chrono::milliseconds ready_timeout);

}  // namespace bs::sim
