// The planner: the steps of CONTRACT.md §6 in the order they run (plan_full), and the hold on a
// bottle whose spec file is absent. The steps themselves are in plan_steps.cpp (the spec's
// machine) and plan_removal.cpp (machines to remove).
#include "reconcile/plan.h"

#include <algorithm>

#include "reconcile/booted_verdict.h"
#include "reconcile/plan_steps.h"

namespace bs {

Allowlist desired_allowlist(const BottleSpec& spec, Ipv4 lease) {
  std::vector<Cidr> all(spec.egress_allow.begin(), spec.egress_allow.end());
  all.push_back(host_cidr(lease));
  return make_allowlist(std::move(all));
}

std::optional<Action> drift_kill(const std::string& machine, const MachineObservation& obs,
                                 const std::optional<Allowlist>& desired) {
  if (!obs.vm) return std::nullopt;
  BootedJudgement j = judge_booted(*obs.vm, desired);
  switch (j.verdict) {
    case BootedVerdict::Confined:
    case BootedVerdict::Pending: return std::nullopt;
    case BootedVerdict::Drifted:
      return Action::kill(machine, obs.vm->pid, obs.vm->start_time, KillReason::Drift, std::move(j.detail));
    case BootedVerdict::Unverifiable:
      return Action::kill(machine, obs.vm->pid, obs.vm->start_time, KillReason::Unverifiable,
                                     std::move(j.detail));
  }
  return std::nullopt;
}

namespace {

// While its spec file is absent but the removal grace has not passed, a bottle is held: nothing
// new is begun for it (no lease, machine, adoption, start, stop or recreate: a spec deleted for
// good must not first get a machine only to lose it two seconds later), but its confinement is
// still kept: drifted, unverifiable and stray VMs are killed, its row is patched, and what the
// supervisor recorded stays true. A rewritten spec ends the hold at once. Confinement is kept for
// the machines the bottle manages: the machine its spec names but it has not adopted yet is not
// its own (§6.7: never touched), so its row is not patched nor its VM killed or recorded.
bool allowed_while_absent(const BottleInput& in, const Action& a) {
  using K = Action::Kind;
  auto managed = [&] {
    return std::any_of(in.managed.begin(), in.managed.end(), [&](const Managed& m) { return m.machine == a.machine; });
  };
  switch (a.kind) {
    case K::Kill:
    case K::Patch:
    case K::RecordVerified:
    case K::RecordExit:
      return managed();
    default:
      return false;
  }
}

Plan plan_full(const BottleInput& in) {
  using namespace plan_steps;
  Plan p;
  if (in.removed) {
    plan_all_removed(in, p);  // 7
    return p;
  }
  if (!in.spec) {
    plan_without_valid_spec(in, p);
    return p;
  }
  if (in.spec_error) p.error = *in.spec_error;

  if (lease(in, p) == Flow::Done) return p;  // 1
  SpecMachine m = spec_machine(in, desired_allowlist(*in.spec, *in.lease));
  remove_renamed(m, p);  // 7, for a machine the spec no longer names; the lease is kept
  if (db_available(m, p) == Flow::Done) return p;
  if (create_or_adopt(m, p) == Flow::Done) return p;           // 2
  if (recreate_on_shape_change(m, p) == Flow::Done) return p;  // 2, again
  // 4 first: "at once" means before anything that could fail or wait.
  check_booted_policy(m, p);  // 4
  watch_vm(m, p);             // 6
  kill_strays(m, p);          // 8
  if (confine_row(m, p) == Flow::Done) return p;  // 3
  converge_run_state(m, p);                       // 5, 6
  return p;
}

}  // namespace

Plan plan_bottle(const BottleInput& in) {
  Plan p = plan_full(in);
  if (in.held || (in.absent && !in.removed)) {
    std::erase_if(p.actions, [&](const Action& a) { return !allowed_while_absent(in, a); });
  }
  return p;
}

}  // namespace bs
