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
MachineObservation observe_machine(const std::string& machine, const RowSnapshot& snap,
                                   const smolvm::Paths& paths, const std::optional<Verified>& verified);

// _boot-vm processes naming `machine`'s data dir, other than `except_pid`.
std::map<std::string, std::vector<StrayVm>> find_strays(const std::vector<std::string>& machines,
                                                        const smolvm::Paths& paths,
                                                        const std::map<std::string, std::int64_t>& row_pids);

}  // namespace bs::supervisor
