#include "supervisor/observer.h"

#include <algorithm>
#include <set>
#include <string_view>

#include "platform/identity.h"
#include "platform/process.h"

namespace bs::supervisor {
namespace {

// CONTRACT §6.4: the pid is this machine's VM only if it exists, is not a zombie, and its start
// time matches (or, with no recorded start time, its command line names our boot-config.json).
void observe_vm(MachineObservation& obs, VmProcesses& procs, const std::string& boot_config, std::int64_t pid,
                std::optional<std::uint64_t> start_time) {
  // One reading of stat and cmdline serves the identity rule, the start time and the policy.
  VmProcess p = procs.see(pid);
  switch (platform::classify_identity(p.stat, p.cmdline, start_time, boot_config)) {
    case platform::Identity::Match: break;
    case platform::Identity::Gone: obs.pid_note = "pid " + std::to_string(pid) + " is gone"; return;
    case platform::Identity::Zombie: obs.pid_note = "pid " + std::to_string(pid) + " is a zombie"; return;
    case platform::Identity::Mismatch:
      obs.pid_note = "pid " + std::to_string(pid) + " belongs to another process";
      return;
  }
  RunningVm vm;
  vm.pid = pid;
  vm.start_time = p.stat->start_time;
  vm.booted = procs.booted_policy(pid, p);
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

MachineObservation observe_machine(const std::string& machine, const RowSnapshot& snap, const smolvm::Paths& paths,
                                   const std::optional<Verified>& verified, VmProcesses& procs) {
  using Row = MachineObservation::Row;
  MachineObservation obs;
  const std::string boot_config = paths.boot_config(machine);
  if (!snap.available) {
    obs.row = Row::DbUnavailable;
    obs.problem = snap.problem;
    if (verified) observe_vm(obs, procs, boot_config, verified->pid, verified->start_time);
    return obs;
  }
  auto it = snap.rows.find(machine);
  if (it == snap.rows.end()) {
    obs.row = Row::Missing;
    // A VM we verified may outlive its row (deleted out of band): it must not run unchecked.
    if (verified) observe_vm(obs, procs, boot_config, verified->pid, verified->start_time);
    return obs;
  }
  const smolvm::MachineRow& row = it->second;
  if (row.problem != smolvm::MachineRow::Problem::None) {
    obs.row = Row::Unreadable;
    obs.problem = "row '" + machine + "' in " + paths.db + ": " + row.problem_detail;
    if (verified) observe_vm(obs, procs, boot_config, verified->pid, verified->start_time);
    return obs;
  }
  obs.row = Row::Ok;
  obs.allowed = policy_of(row.record.allowed_cidrs);
  obs.network = row.record.network;
  if (row.record.pid && *row.record.pid > 0) {
    observe_vm(obs, procs, boot_config, *row.record.pid, row.record.pid_start_time);
  }
  if (verified && (!obs.vm || obs.vm->pid != verified->pid)) {
    MachineObservation old;
    observe_vm(old, procs, boot_config, verified->pid, verified->start_time);
    if (old.vm) obs.superseded = StrayVm{old.vm->pid, old.vm->start_time};
  }
  return obs;
}

std::map<std::string, std::vector<StrayVm>> find_strays(const std::map<std::string, std::string>& machines,
                                                        const smolvm::Paths& paths,
                                                        const std::map<std::string, std::int64_t>& row_pids,
                                                        VmProcesses& procs) {
  std::map<std::string, std::vector<StrayVm>> out;
  if (machines.empty()) return out;
  // A command line names machine M's data dir when it holds "<vms_dir>/<hash of M>/": find each
  // "<vms_dir>/" and look the next path segment up, instead of searching for every machine's dir
  // in every command line (1,000 x 1,000 searches).
  std::map<std::string, const std::string*, std::less<>> by_hash;
  for (const auto& [m, hash] : machines) by_hash.emplace(hash, &m);
  const std::string prefix = paths.vms_dir + "/";
  for (std::int64_t pid : platform::list_pids()) {
    // A remembered VM's readings stand while it lives; any other process is read now.
    VmProcess fresh;
    const VmProcess* p = procs.remembered(pid);
    if (p == nullptr) {
      auto cmdline = platform::read_cmdline(pid);
      if (!cmdline || cmdline->find("_boot-vm") == std::string::npos) continue;
      fresh = procs.see(pid);
      p = &fresh;
    }
    if (!p->stat || !p->cmdline) continue;  // exited meanwhile
    std::string joined = *p->cmdline;
    while (!joined.empty() && joined.back() == '\0') joined.pop_back();
    std::replace(joined.begin(), joined.end(), '\0', ' ');
    if (joined.find("_boot-vm") == std::string::npos) continue;
    std::set<const std::string*> named;
    for (auto at = joined.find(prefix); at != std::string::npos; at = joined.find(prefix, at + 1)) {
      const auto seg = at + prefix.size();
      const auto slash = joined.find('/', seg);
      if (slash == std::string::npos) break;
      auto hit = by_hash.find(std::string_view(joined).substr(seg, slash - seg));
      if (hit != by_hash.end()) named.insert(hit->second);
    }
    for (const std::string* m : named) {
      auto rp = row_pids.find(*m);
      if (rp != row_pids.end() && rp->second == pid) continue;
      out[*m].push_back(StrayVm{pid, p->stat->start_time});
    }
  }
  return out;
}

}  // namespace bs::supervisor
