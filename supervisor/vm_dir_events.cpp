// The VM data dirs: the earliest signal of what a VM booted with. smolvm writes agent.config.json
// and agent.pid right after the spawn, seconds before the row learns the pid, so an unconfined
// start is judged (and killed) from these files in the loop iteration that sees them change.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "smolvm/running_vm.h"
#include "supervisor/supervisor.h"

namespace bs::supervisor {

void Supervisor::sync_vm_dirs() {
  if (mode_ != RunMode::Daemon || stopping_ ||
      (records_.managed().version() == vm_dirs_version_ && guard_.version == guard_dirs_version_)) {
    return;
  }
  vm_dirs_version_ = records_.managed().version();
  guard_dirs_version_ = guard_.version;
  std::map<std::string, std::string> dirs;
  for (const auto& [m, _] : records_.managed()) dirs.emplace(m, settings_.smolvm.vm_data_dir(m));
  // Guarded machines too: their VMs are judged from agent.pid the moment they boot.
  for (const std::string& m : guard_.guarded()) dirs.emplace(m, settings_.smolvm.vm_data_dir(m));
  vm_dirs_.sync(settings_.smolvm.vms_dir, dirs);
}

void Supervisor::on_vm_dir_change(const std::string& machine, VmDirWatch::Change change) {
  if (stopping_) return;
  // What the VM booted with may have been rewritten (or belongs to a new VM): read it again.
  vm_processes_.forget_booted_in(settings_.smolvm.vm_data_dir(machine));
  if (change == VmDirWatch::Change::Booted) {
    // A VM of this machine just read its boot-config.json. If neither agent.pid nor the row ever
    // names it, it is a stray: look once its pending window has passed.
    // Each VM gets its own due time: a second boot while a scan is already due must not be
    // looked at before its own window has passed (it would be skipped as pending, then forgotten).
    // 50 ms: the /proc start time the window is measured by has 10 ms resolution.
    booted_scan_due_[machine] = std::chrono::steady_clock::now() + std::chrono::milliseconds(kBootPendingWindowMs + 50);
    if (!booted_scan_.active()) arm_booted_scan();
  }
  // No debounce on this path: a drifted VM found through agent.pid dies in this iteration.
  fast_drift_check({machine});
  guard_check({machine});
  // A bottle waiting out a failure's backoff is not retried early by the files its own failed
  // attempt wrote (a VM that dies while booting writes and removes agent.pid every time, which
  // would make the backoff a hot loop); the drift check above has judged whatever runs.
  if (auto owner = bottle_of_machine(machine)) {
    if (!(queue_.failures(*owner) > 0 && queue_.scheduled(*owner))) queue_.add(*owner);
  }
}

void Supervisor::arm_booted_scan() {
  if (booted_scan_due_.empty()) return;
  auto first = booted_scan_due_.begin()->second;
  for (const auto& [_, due] : booted_scan_due_) first = std::min(first, due);
  const auto wait = std::chrono::ceil<std::chrono::milliseconds>(first - std::chrono::steady_clock::now());
  booted_scan_.start(std::max(wait, std::chrono::milliseconds(0)), [this] { scan_booted(); });
}

void Supervisor::scan_booted() {
  if (stopping_) return;
  const auto now = std::chrono::steady_clock::now();
  std::set<std::string> machines;
  for (auto it = booted_scan_due_.begin(); it != booted_scan_due_.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    // Our own start in flight: its VM is named by agent.pid as soon as smolvm writes it.
    if (records_.managed().count(it->first) != 0 && !slots_.in_flight(it->first)) machines.insert(it->first);
    it = booted_scan_due_.erase(it);
  }
  arm_booted_scan();
  for (auto& [m, found] : scan_strays(machines)) {
    auto& list = strays_[m];
    for (const StrayVm& v : found) {
      if (std::none_of(list.begin(), list.end(), [&](const StrayVm& o) { return o.pid == v.pid; })) list.push_back(v);
    }
    if (auto owner = bottle_of_machine(m)) queue_.add(*owner);
  }
}

std::map<std::string, std::vector<StrayVm>> Supervisor::scan_strays(const std::set<std::string>& machines) {
  std::map<std::string, std::string> hashes;  // -> its data dir's hash
  std::map<std::string, std::set<std::int64_t>> referenced;  // the pids the row and agent.pid name
  for (const std::string& m : machines) {
    hashes.emplace(m, smolvm::vm_dir_hash(m));
    if (auto r = rows_.rows().rows.find(m); r != rows_.rows().rows.end() && r->second.record.pid) {
      referenced[m].insert(*r->second.record.pid);
    }
    if (auto agent = smolvm::read_agent_pid(settings_.smolvm.vm_data_dir(m)); agent && *agent) {
      referenced[m].insert((*agent)->pid);
    }
  }
  return find_strays(hashes, settings_.smolvm, referenced, vm_processes_);
}

}  // namespace bs::supervisor
