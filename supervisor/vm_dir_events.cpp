// What the VM watch's reports mean (vm_watch.h watches; this decides): a changed data dir gets its
// machine judged at once, a VM past its boot window that nobody names is a stray, and an exited
// VM has its bottle planned again.
#include <spdlog/spdlog.h>

#include "supervisor/supervisor.h"

namespace bs::supervisor {

void Supervisor::sync_vm_dirs() {
  // Both counts only grow, so their sum changes whenever either set may have.
  vm_watch_.sync_dirs(records_.managed().version() + guard_.version, [this] {
    std::set<std::string> machines;
    for (const auto& [m, _] : records_.managed()) machines.insert(m);
    // Guarded machines too: their VMs are judged from agent.pid the moment they boot.
    machines.merge(guard_.guarded());
    return machines;
  });
}

void Supervisor::on_vm_dir_change(const std::string& machine) {
  if (stopping()) return;
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

void Supervisor::on_boot_windows_ended(const std::set<std::string>& machines) {
  if (stopping()) return;
  std::set<std::string> look;
  for (const std::string& m : machines) {
    // Our own start in flight: its VM is named by agent.pid as soon as smolvm writes it.
    if (records_.managed().count(m) != 0 && !executor_.slots().in_flight(m)) look.insert(m);
  }
  for (const std::string& m : vm_watch_.look_for_strays(look)) {
    if (auto owner = bottle_of_machine(m)) queue_.add(*owner);
  }
}

void Supervisor::on_vm_exited(const std::string& bottle, std::int64_t pid, std::optional<platform::ChildExit> how) {
  Bottle* b = bottles_.find(bottle);
  if (b == nullptr) return;
  // How it ended is known when it was our child (the VMs our own starts spawn are: we are their
  // subreaper); a VM started by somebody else's command is not ours to wait for.
  b->last_exit = LastExit{pid, how ? std::optional<std::string>(how->str()) : std::nullopt, time_.wall_ms()};
  spdlog::info("bottle {}: VM pid {} exited{}", bottle, pid, how ? " (" + how->str() + ")" : "");
  queue_.add(bottle);
}

}  // namespace bs::supervisor
