// CONTRACT.md §6.7, removal: a bottle whose spec is gone (after the removal grace), a machine its
// spec no longer names, and a bottle that never had a valid spec. Only machines the bottle
// manages are ever acted on here.
#include <algorithm>

#include "reconcile/plan_steps.h"

namespace bs::plan_steps {

// Stop, then delete or quarantine, then forget. When the machine cannot be acted on now, the
// reason goes to plan.error.
void plan_removal(const BottleInput& in, const Managed& m, Plan& p) {
  const MachineObservation* obs = find_obs(in, m.machine);
  if (obs == nullptr || obs->row == MachineObservation::Row::Missing) {
    if (obs != nullptr && obs->vm) {
      p.actions.push_back(Action::kill(m.machine, obs->vm->pid, obs->vm->start_time, KillReason::Unverifiable,
                                      "pid " + std::to_string(obs->vm->pid) + ": the machine's row is gone"));
    }
    p.actions.push_back(Action::forget(m.machine));
    return;
  }
  if (obs->row == MachineObservation::Row::DbUnavailable) {
    if (auto kill = drift_kill(m.machine, *obs, std::nullopt)) p.actions.push_back(*kill);
    p.error = "cannot remove machine '" + m.machine + "': " + obs->problem;
    return;
  }
  if (obs->vm) p.actions.push_back(Action::stop(m.machine));
  if (m.on_remove == OnRemove::Delete) {
    p.actions.push_back(Action::delete_machine(m.machine));
    return;
  }
  if (obs->row == MachineObservation::Row::Unreadable) {
    p.error = "cannot quarantine machine '" + m.machine + "': " + obs->problem;
    return;
  }
  p.actions.push_back(Action::quarantine(m.machine));
  p.actions.push_back(Action::forget(m.machine));
}

// Every managed machine is removed; the lease goes once all of them are forgotten.
void plan_all_removed(const BottleInput& in, Plan& p) {
  for (const Managed& m : in.managed) plan_removal(in, m, p);
  if (p.error) return;
  bool all_forgotten = std::all_of(in.managed.begin(), in.managed.end(), [&](const Managed& m) {
    return std::any_of(p.actions.begin(), p.actions.end(),
                       [&](const Action& a) { return a.kind == K::Forget && a.machine == m.machine; });
  });
  if (all_forgotten && in.lease) p.actions.push_back(Action::release_lease());
}

// Never valid (or its last valid state was lost): nothing is created or adopted, but a machine
// we already manage keeps running only if its confinement can be confirmed, which it cannot
// without a desired allowlist.
void plan_without_valid_spec(const BottleInput& in, Plan& p) {
  p.error = in.spec_error.value_or("no valid spec");
  for (const Managed& m : in.managed) {
    if (const MachineObservation* o = find_obs(in, m.machine)) {
      if (auto kill = drift_kill(m.machine, *o, std::nullopt)) p.actions.push_back(*kill);
    }
  }
}

// A renamed machine: the old one is removed per its on_remove, keeping the lease.
void remove_renamed(const SpecMachine& m, Plan& p) {
  for (const Managed& old : m.in.managed) {
    if (old.machine != m.name) plan_removal(m.in, old, p);
  }
}

}  // namespace bs::plan_steps
