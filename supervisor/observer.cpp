#include "supervisor/observer.h"

#include "platform/identity.h"
#include "platform/process.h"
#include "smolvm/boot_config.h"

namespace bs::supervisor {
namespace {

Policy booted_policy_of(std::int64_t pid) {
  auto cmdline = platform::read_cmdline(pid);
  if (!cmdline) return Policy::invalid("cannot read /proc/" + std::to_string(pid) + "/cmdline");
  auto path = smolvm::boot_config_from_cmdline(*cmdline);
  if (!path) return Policy::invalid("command line names no boot-config.json");
  auto booted = smolvm::read_booted_policy(*path);
  if (!booted) return Policy::invalid(booted.error());
  return policy_of(*booted);
}

// CONTRACT §6.4: the pid is this machine's VM only if it exists, is not a zombie, and its start
// time matches (or, with no recorded start time, its command line names our boot-config.json).
void observe_vm(MachineObservation& obs, const std::string& boot_config, std::int64_t pid,
                std::optional<std::uint64_t> start_time) {
  switch (platform::check_identity(pid, start_time, boot_config)) {
    case platform::Identity::Match: break;
    case platform::Identity::Gone: obs.pid_note = "pid " + std::to_string(pid) + " is gone"; return;
    case platform::Identity::Zombie: obs.pid_note = "pid " + std::to_string(pid) + " is a zombie"; return;
    case platform::Identity::Mismatch:
      obs.pid_note = "pid " + std::to_string(pid) + " belongs to another process";
      return;
  }
  auto stat = platform::read_proc_stat(pid);
  if (!stat) {
    obs.pid_note = "pid " + std::to_string(pid) + " is gone";
    return;
  }
  RunningVm vm;
  vm.pid = pid;
  vm.start_time = stat->start_time;
  vm.booted = booted_policy_of(pid);
  obs.vm = std::move(vm);
}

}  // namespace

Policy policy_of(const smolvm::AllowedCidrs& stored) {
  switch (stored.kind) {
    case smolvm::AllowedCidrs::Kind::Null: return Policy::unrestricted();
    case smolvm::AllowedCidrs::Kind::Invalid: return Policy::invalid("allowed_cidrs is not a list of strings");
    case smolvm::AllowedCidrs::Kind::List: {
      auto list = parse_allowlist(stored.cidrs);
      if (!list) return Policy::invalid(list.error());
      return Policy::of(std::move(*list));
    }
  }
  return Policy::invalid("unknown");
}

MachineObservation observe_machine(const std::string& machine, const RowSnapshot& snap,
                                   const smolvm::Paths& paths, const std::optional<Verified>& verified) {
  using Row = MachineObservation::Row;
  MachineObservation obs;
  const std::string boot_config = paths.boot_config(machine);
  if (!snap.available) {
    obs.row = Row::DbUnavailable;
    obs.problem = snap.problem;
    if (verified) observe_vm(obs, boot_config, verified->pid, verified->start_time);
    return obs;
  }
  auto it = snap.rows.find(machine);
  if (it == snap.rows.end()) {
    obs.row = Row::Missing;
    // A VM we verified may outlive its row (deleted out of band): it must not run unchecked.
    if (verified) observe_vm(obs, boot_config, verified->pid, verified->start_time);
    return obs;
  }
  const smolvm::MachineRow& row = it->second;
  if (row.problem != smolvm::MachineRow::Problem::None) {
    obs.row = Row::Unreadable;
    obs.problem = "row '" + machine + "' in " + paths.db + ": " + row.problem_detail;
    if (verified) observe_vm(obs, boot_config, verified->pid, verified->start_time);
    return obs;
  }
  obs.row = Row::Ok;
  obs.allowed = policy_of(row.record.allowed_cidrs);
  obs.network = row.record.network;
  if (row.record.pid && *row.record.pid > 0) {
    observe_vm(obs, boot_config, *row.record.pid, row.record.pid_start_time);
  }
  return obs;
}

std::map<std::string, std::vector<StrayVm>> find_strays(const std::vector<std::string>& machines,
                                                        const smolvm::Paths& paths,
                                                        const std::map<std::string, std::int64_t>& row_pids) {
  std::map<std::string, std::vector<StrayVm>> out;
  if (machines.empty()) return out;
  auto procs = platform::processes_with_cmdline_containing("_boot-vm");
  for (const std::string& m : machines) {
    const std::string dir = paths.vm_data_dir(m) + "/";
    auto rp = row_pids.find(m);
    for (const auto& p : procs) {
      if (p.cmdline.find(dir) == std::string::npos) continue;
      if (rp != row_pids.end() && rp->second == p.pid) continue;
      out[m].push_back(StrayVm{p.pid, p.start_time});
    }
  }
  return out;
}

}  // namespace bs::supervisor
