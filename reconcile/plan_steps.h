// The planner's steps, one function per step of CONTRACT.md §6. Internal to reconcile/plan*.cpp:
// plan.cpp runs them in order (plan_full), the rest of the planner shares their helpers.
//
// Each step reads the input and appends to the plan. A step that returns Flow::Done ends the
// plan there: nothing after it can be decided yet (no lease, no DB, a machine to create first).
#pragma once

#include <string>

#include "reconcile/plan.h"

namespace bs::plan_steps {

using K = Action::Kind;

const MachineObservation* find_obs(const BottleInput& in, const std::string& machine);

enum class Flow { Go, Done };

// What the steps after the lease know about the machine the spec names.
struct SpecMachine {
  const BottleInput& in;
  const BottleSpec& spec;
  const Allowlist desired;         // {lease/32} ∪ egress.allow
  const std::string& name;         // spec.machine
  const MachineObservation* obs;   // never null once db_available() let the plan go on
  const Managed* managed;          // the store's record of it, if this bottle manages it
  bool running = false;            // a VM runs and is not killed by this plan (step 4)
  RestartHistory history;          // in.restarts and what this plan's kills and exits add to it
};
SpecMachine spec_machine(const BottleInput& in, Allowlist desired);

// 7. Removal: a bottle whose spec is gone, or a machine the spec no longer names (plan_removal.cpp).
void plan_removal(const BottleInput& in, const Managed& m, Plan& p);
void plan_all_removed(const BottleInput& in, Plan& p);
void plan_without_valid_spec(const BottleInput& in, Plan& p);
void remove_renamed(const SpecMachine& m, Plan& p);

// 1. Lease an address: the fixed loopback, or any.
Flow lease(const BottleInput& in, Plan& p);
// Nothing about the machine can be verified without smolvm's DB (§6.3: "cannot verify").
Flow db_available(const SpecMachine& m, Plan& p);
// 2. Create the machine, or adopt it; remember a changed on_remove.
Flow create_or_adopt(const SpecMachine& m, Plan& p);
// A new image/from/cpus/memory recreates the machine, unless its disk is to be kept (§3).
Flow recreate_on_shape_change(const SpecMachine& m, Plan& p);
// 4. The running VM booted with the desired policy, or is killed at once (or is still pending).
void check_booted_policy(SpecMachine& m, Plan& p);
// 6. Watch the VM: an exit is recorded (and counts for backoff); a superseded VM is a stray.
void watch_vm(SpecMachine& m, Plan& p);
// 8. Stray _boot-vm processes of the machine that the row does not reference.
void kill_strays(const SpecMachine& m, Plan& p);
// 3. Confine the row: patch allowed_cidrs to the desired allowlist (verified by the executor).
Flow confine_row(const SpecMachine& m, Plan& p);
// 5/6. Converge the run state; restarts after exits wait out the backoff.
void converge_run_state(const SpecMachine& m, Plan& p);

}  // namespace bs::plan_steps
