#include "supervisor/observer.h"

#include <algorithm>
#include <set>
#include <string_view>

#include "platform/identity.h"
#include "platform/process.h"
#include "smolvm/running_vm.h"

namespace bs::supervisor {
namespace {

// CONTRACT §6.4: the pid is this machine's VM only if it exists, is not a zombie, its start time
// matches (when one is recorded), and its command line is exactly a VM's for this machine.
// Returns false (and says why in pid_note when `note`) when it is not.
bool observe_vm(MachineObservation& obs, VmProcesses& procs, const platform::ArgvRule& rule, std::int64_t pid,
                std::optional<std::uint64_t> start_time, bool note = true) {
  // One reading of stat and cmdline serves the identity rule, the start time and the policy.
  VmProcess p = procs.see(pid);
  const std::string who = "pid " + std::to_string(pid);
  std::string why;
  switch (platform::classify_identity(p.stat, p.cmdline, start_time, rule)) {
    case platform::Identity::Match: break;
    case platform::Identity::Gone: why = who + " is gone"; break;
    case platform::Identity::Zombie: why = who + " is a zombie"; break;
    case platform::Identity::Mismatch:
      why = who + (start_time && p.stat && p.stat->start_time != *start_time
                       ? " belongs to another process (start time differs)"
                       : " is not this machine's VM (its command line is not smolvm's _boot-vm for it)");
      break;
  }
  if (!why.empty()) {
    if (note) obs.pid_note = why;
    return false;
  }
  RunningVm vm;
  vm.pid = pid;
  vm.start_time = p.stat->start_time;
  BootedPolicy booted = procs.booted_policy(pid, p);
  vm.booted = std::move(booted.policy);
  vm.pending_ms = booted.pending_ms;
  obs.vm = std::move(vm);
  return true;
}

// A VM the row does not name yet (a start in flight, ours or anybody's: the row gets the pid
// only after the guest agent answered, seconds later) is found through agent.pid, which smolvm
// writes right after the spawn.
// `looked_at`: the process already judged (pid and start time); agent.pid naming the same pid with
// another start time names another process (the pid was reused), which is looked at too.
void observe_agent_pid_vm(MachineObservation& obs, VmProcesses& procs, const smolvm::Paths& paths,
                          const std::string& machine, std::int64_t looked_at,
                          std::optional<std::uint64_t> looked_at_start) {
  auto agent = smolvm::read_agent_pid(paths.vm_data_dir(machine));
  if (!agent || !*agent) return;
  if ((*agent)->pid == looked_at && (*agent)->start_time == looked_at_start) return;
  observe_vm(obs, procs, paths.vm_command_line(machine), (*agent)->pid, (*agent)->start_time, false);
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

MachineObservation observe_machine(const std::string& machine, const RowSnapshot& snap, const smolvm::Paths& paths,
                                   const std::optional<Verified>& verified, VmProcesses& procs) {
  using Row = MachineObservation::Row;
  MachineObservation obs;
  const platform::ArgvRule rule = paths.vm_command_line(machine);
  // The pid to look at first: the row's, or (the row unusable) the one we last verified.
  std::int64_t first = 0;
  std::optional<std::uint64_t> first_start;
  bool from_row = false;
  auto it = snap.available ? snap.rows.find(machine) : snap.rows.end();
  if (!snap.available) {
    obs.row = Row::DbUnavailable;
    obs.problem = snap.problem;
  } else if (it == snap.rows.end()) {
    // A VM we verified may outlive its row (deleted out of band): it must not run unchecked.
    obs.row = Row::Missing;
  } else if (it->second.problem != smolvm::MachineRow::Problem::None) {
    obs.row = Row::Unreadable;
    obs.problem = "row '" + machine + "' in " + paths.db + ": " + it->second.problem_detail;
  } else {
    obs.row = Row::Ok;
    obs.allowed = policy_of(it->second.record.allowed_cidrs);
    obs.network = it->second.record.network;
    if (it->second.record.pid && *it->second.record.pid > 0) {
      first = *it->second.record.pid;
      first_start = it->second.record.pid_start_time;
      from_row = true;
    }
  }
  if (!from_row && verified) {
    first = verified->pid;
    first_start = verified->start_time;
  }
  if (!(first > 0 && observe_vm(obs, procs, rule, first, first_start, from_row))) {
    observe_agent_pid_vm(obs, procs, paths, machine, first, first_start);
  }
  // The VM we verified, still alive while the row (or agent.pid) names another one or none: it
  // is not this machine's VM any more as smolvm sees it, so it is a stray, not an exit.
  if (verified && (!obs.vm || obs.vm->pid != verified->pid)) {
    MachineObservation old;
    observe_vm(old, procs, rule, verified->pid, verified->start_time, false);
    if (old.vm) obs.superseded = StrayVm{old.vm->pid, old.vm->start_time};
  }
  return obs;
}

std::map<std::string, std::vector<StrayVm>> find_strays(const std::map<std::string, std::string>& machines,
                                                        const smolvm::Paths& paths,
                                                        const std::map<std::string, std::set<std::int64_t>>& referenced,
                                                        VmProcesses& procs) {
  std::map<std::string, std::vector<StrayVm>> out;
  if (machines.empty()) return out;
  // Only a VM's exact command line counts (CONTRACT §6.8): argv[0] smolvm, argv[1] "_boot-vm",
  // argv[2] "<vms_dir>/<hash of a managed machine>/boot-config.json". Editors, grep, watch and
  // scripts that merely mention those words are never strays. argv[2] is looked up by its hash
  // segment instead of comparing it with every machine's path (1,000 x 1,000 comparisons).
  std::map<std::string, const std::string*, std::less<>> by_hash;
  for (const auto& [m, hash] : machines) by_hash.emplace(hash, &m);
  const std::string prefix = paths.vms_dir + "/";
  const std::string suffix = "/" + std::string(smolvm::kBootConfigFile);
  for (std::int64_t pid : procs.table().pids()) {
    // A remembered VM's readings stand while it lives; any other process is read now.
    VmProcess fresh;
    const VmProcess* p = procs.remembered(pid);
    if (p == nullptr) {
      auto cmdline = procs.table().cmdline(pid);
      if (!cmdline || cmdline->find("_boot-vm") == std::string::npos) continue;
      fresh = procs.see(pid, false);
      p = &fresh;
    }
    if (!p->stat || !p->cmdline || p->stat->state == 'Z') continue;  // exited meanwhile
    const auto argv = platform::split_cmdline(*p->cmdline);
    if (argv.size() < 3 || argv[1] != "_boot-vm") continue;
    if (std::find(paths.vm_argv0.begin(), paths.vm_argv0.end(), argv[0]) == paths.vm_argv0.end()) continue;
    const std::string_view config = argv[2];
    if (config.size() <= prefix.size() + suffix.size() || config.substr(0, prefix.size()) != prefix ||
        config.substr(config.size() - suffix.size()) != suffix) {
      continue;
    }
    auto hit = by_hash.find(config.substr(prefix.size(), config.size() - prefix.size() - suffix.size()));
    if (hit == by_hash.end()) continue;
    const std::string& m = *hit->second;
    if (auto r = referenced.find(m); r != referenced.end() && r->second.count(pid) != 0) continue;
    // Spawned a moment ago: smolvm has not written agent.pid for it yet. The observation finds
    // it through agent.pid as soon as it has; only one nobody claims after that is a stray.
    auto age = procs.table().age_ms(p->stat->start_time);
    if (age && *age >= 0 && *age < kBootPendingWindowMs) continue;
    out[m].push_back(StrayVm{pid, p->stat->start_time});
  }
  return out;
}

}  // namespace bs::supervisor
