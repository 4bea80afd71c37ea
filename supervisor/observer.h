// Turns smolvm's rows, /proc and the VM data dirs (agent.pid, agent.config.json) into the planner's
// MachineObservation.
#pragma once

#include <map>
#include <set>
#include <optional>
#include <string>
#include <vector>

#include "reconcile/plan.h"
#include "reconcile/world.h"
#include "smolvm/paths.h"
#include "smolvm/vm_table.h"
#include "supervisor/vm_processes.h"

namespace bs::supervisor {

// One read of smolvm's vms table (or why it could not be read).
struct RowSnapshot {
  bool available = false;
  std::string problem;                               // when !available
  std::map<std::string, smolvm::MachineRow> rows;    // by machine name
};

Policy policy_of(const smolvm::AllowedCidrs& stored);

// The observation of `machine`. The VM is the process the row names; when the row cannot be read,
// the pid the supervisor last verified (so a confined VM is not killed for smolvm's DB trouble);
// when neither is a live VM, the one agent.pid names (a start in flight: the row learns its pid
// only after the guest agent answered).
// `procs` remembers what /proc said about each VM process while it lives.
MachineObservation observe_machine(const std::string& machine, const RowSnapshot& snap, const smolvm::Paths& paths,
                                   const std::optional<Verified>& verified, VmProcesses& procs);

// CONTRACT §6.8: processes whose command line is exactly a VM's for the data dir of one of
// `machines` (machine -> smolvm::vm_dir_hash of it), other than the pid referenced for it (the
// row's and agent.pid's), and older than the boot pending window.
std::map<std::string, std::vector<StrayVm>> find_strays(const std::map<std::string, std::string>& machines,
                                                        const smolvm::Paths& paths,
                                                        const std::map<std::string, std::set<std::int64_t>>& referenced,
                                                        VmProcesses& procs);

}  // namespace bs::supervisor
