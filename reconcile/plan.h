// The reconcile planner: (desired spec, observed world, leases, store records, clock) -> actions.
// Pure: no I/O, no clock but the one passed in. CONTRACT.md §6 is its specification: plan.cpp
// runs its steps in order (plan_steps.cpp, plan_removal.cpp). tests/unit/reconcile/
// plan_table_test.cpp reads like that section's table; plan_property_test.cpp checks the plans
// of random worlds (verified starts, observed kills, own machines only, a fixed point).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "reconcile/action.h"
#include "reconcile/cidr.h"
#include "reconcile/guard.h"
#include "reconcile/restart_backoff.h"
#include "reconcile/spec.h"
#include "reconcile/world.h"

namespace bs {

MachineShape shape_of(const BottleSpec& s);
std::string machine_fingerprint(const MachineShape& s);  // as recorded in the store
std::string machine_fingerprint(const BottleSpec& s);
std::string describe_fingerprint_change(const std::string& before, const std::string& after);

// A machine the supervisor manages for a bottle (store record).
struct Managed {
  std::string machine;
  bool adopted = false;
  OnRemove on_remove = OnRemove::Delete;
  std::string fingerprint;
};

// The VM the supervisor last verified for a machine (store record).
struct Verified {
  std::int64_t pid = 0;
  std::uint64_t start_time = 0;
  Allowlist allowlist;
};

struct BottleInput {
  std::string name;
  std::optional<BottleSpec> spec;         // the last valid desired state; nullopt: never valid
  std::optional<std::string> spec_error;  // the spec's current error, if any
  bool removed = false;                   // spec file absent for longer than the removal grace
  bool absent = false;                    // spec file absent, still within the removal grace
  // The spec folder cannot be read or is not trusted: nobody can tell what is desired, so the
  // bottle is held as inside the removal grace (confinement kept, nothing begun or removed).
  bool held = false;
  std::optional<Ipv4> lease;
  std::vector<Managed> managed;           // machines this bottle manages (two during a rename)
  std::map<std::string, Verified> verified;            // by machine
  std::map<std::string, MachineObservation> observed;  // by machine: every managed + the spec's
  std::map<std::string, std::vector<StrayVm>> strays;  // by machine, only on a full resync
  std::set<std::string> machines_of_others;            // managed by or desired by other bottles
  // Machines outside the specs whose row allowlist holds this bottle's address: it is not started
  // on a shared address (a running VM is left alone; the conflict is reported).
  std::vector<LeaseConflict> lease_conflicts;
  RestartHistory restarts;
  Millis backoff_initial{1000};
  Millis backoff_max{300000};
  TimePoint now{};
};

struct Plan {
  std::vector<Action> actions;
  std::optional<std::string> error;  // why the bottle is not converged, for status
  // Nothing to do yet, but not converged either: a VM whose booted policy is still pending.
  // The supervisor plans the bottle again when the pending window closes (or sooner).
  std::optional<std::string> pending;
  bool converged() const { return actions.empty() && !error && !pending; }
};

// {lease/32} ∪ egress.allow, canonical.
Allowlist desired_allowlist(const BottleSpec& spec, Ipv4 lease);

Plan plan_bottle(const BottleInput& in);

// How status reports a bottle (CONTRACT §8).
enum class Actual { Running, Stopped, Missing, Unknown };
enum class Confinement { Verified, Pending, Drifted, Unverifiable, NotApplicable };
std::string to_string(Actual a);
std::string to_string(Confinement c);
struct Assessment {
  Actual actual = Actual::Missing;
  Confinement confinement = Confinement::NotApplicable;
};
Assessment assess(const MachineObservation* obs, const std::optional<Allowlist>& desired);

// The running VM's verdict alone, for the fast drift path: nullopt when nothing is to be killed.
std::optional<Action> drift_kill(const std::string& machine, const MachineObservation& obs,
                                 const std::optional<Allowlist>& desired);

}  // namespace bs
