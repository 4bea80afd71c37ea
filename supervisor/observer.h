// Turns smolvm's rows, /proc and boot-config.json into the planner's MachineObservation.
#pragma once

#include <map>
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

// The observation of `machine`. When the row cannot be read, the VM is looked up through the
// pid the supervisor last verified (so a confined VM is not killed for smolvm's DB trouble).
// `procs` remembers what /proc said about each VM process while it lives.
MachineObservation observe_machine(const std::string& machine, const RowSnapshot& snap, const smolvm::Paths& paths,
                                   const std::optional<Verified>& verified, VmProcesses& procs);

// CONTRACT §6.8: `_boot-vm` processes whose command line names the data dir of one of
// `machines` (machine -> smolvm::vm_dir_hash of it), other than the pid its row names (row_pids).
std::map<std::string, std::vector<StrayVm>> find_strays(const std::map<std::string, std::string>& machines,
                                                        const smolvm::Paths& paths,
                                                        const std::map<std::string, std::int64_t>& row_pids,
                                                        VmProcesses& procs);

}  // namespace bs::supervisor
