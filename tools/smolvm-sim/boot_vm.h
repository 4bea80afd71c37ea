// The VM stand-in. smolvm's `machine start` spawns `/proc/self/exe _boot-vm <data_dir>/boot-config.json`
// in its own process group with stdio on /dev/null; libkrun runs inside that process, so its pid *is*
// the VM. Like smolvm 1.32.2's `_boot-vm`, the stand-in reads and parses its boot config and deletes
// it at once; it then "boots" for SMOLVM_SIM_READY_MS and tells the starting CLI its agent is ready.
// It only waits for a signal afterwards, so hundreds fit in a few hundred MiB.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>

#include "reconcile/expected.h"

namespace bs::sim {

// `_boot-vm <boot-config path>`: reads, parses and deletes the config (exit 1 if it cannot), boots
// for SMOLVM_SIM_READY_MS (a SIGTERM/SIGKILL then kills it by that signal, as it does a real VMM),
// reports ready, then sleeps until SIGTERM/SIGINT (a graceful exit 0) or SIGKILL. With
// SMOLVM_SIM_VM_EXIT_AFTER_MS=N it exits 1 by itself after N ms (during the boot too).
int boot_vm_main(int argc, char** argv);

// A stand-in that was spawned and whose readiness the CLI has not seen yet.
struct BootingVm {
  pid_t pid = -1;
  int ready_fd = -1;  // read end of the readiness pipe; closed by wait_agent_ready
};

// Spawns the stand-in (fork + exec of /proc/self/exe) without waiting for it.
Expected<BootingVm, std::string> spawn_boot_vm(const std::string& boot_config_path);

// How a VM ended that never became ready.
struct BootExit {
  int exit_code = -1;  // >= 0 when it exited
  int signal = 0;      // != 0 when a signal killed it
  bool timed_out = false;  // no readiness within the timeout; the CLI then SIGTERMed it
};

// Waits (up to `timeout`) for the stand-in's ready byte. nullopt: ready. Otherwise the VM is dead
// (reaped) and the result says how it ended.
std::optional<BootExit> wait_agent_ready(BootingVm& vm, std::chrono::milliseconds timeout);

}  // namespace bs::sim
