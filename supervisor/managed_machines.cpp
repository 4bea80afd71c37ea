#include "supervisor/managed_machines.h"

namespace bs::supervisor {

void ManagedMachines::put(const store::ManagedMachine& m) {
  erase(m.machine);
  ++version_;
  by_machine_[m.machine] = m;
  by_bottle_[m.bottle].insert(m.machine);
}

void ManagedMachines::erase(const std::string& machine) {
  auto it = by_machine_.find(machine);
  if (it == by_machine_.end()) return;
  ++version_;
  auto b = by_bottle_.find(it->second.bottle);
  if (b != by_bottle_.end()) {
    b->second.erase(machine);
    if (b->second.empty()) by_bottle_.erase(b);
  }
  by_machine_.erase(it);
}

const std::set<std::string>& ManagedMachines::of_bottle(const std::string& bottle) const {
  static const std::set<std::string> kNone;
  auto it = by_bottle_.find(bottle);
  return it == by_bottle_.end() ? kNone : it->second;
}

}  // namespace bs::supervisor
