// What the planner asks the executor to do: one Action per step, as data. The executor
// (supervisor/actions.cpp) carries out exactly what an action says, never re-reading the spec.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "reconcile/cidr.h"
#include "reconcile/restart_backoff.h"
#include "reconcile/spec.h"

namespace bs {

// What a machine is created with (image/from, cpus, memory); a change recreates it.
struct MachineShape {
  std::optional<std::string> image, from;
  int cpus = 1;
  int memory_mib = 512;
  bool operator==(const MachineShape&) const = default;
};

enum class KillReason { Drift, Unverifiable, Stray };

struct Action {
  enum class Kind {
    AcquireLease,    // address: the fixed loopback, or unset for "lowest free"
    ReleaseLease,
    Create,          // machine, with shape + allowlist; recorded as created with shape + on_remove
    Adopt,           // record machine as managed (it existed already), with shape + on_remove
    Remember,        // update the managed record's on_remove (its shape stays what it was)
    Patch,           // row allowed_cidrs := allowlist, then verify (failure stops the plan)
    Quarantine,      // row network := false, allowed_cidrs := [], then verify
    Kill,            // pid + start_time, reason, detail
    Start,           // only ever after the row was verified in the same plan
    Stop,
    Delete,          // smolvm machine delete -f
    Forget,          // drop machine from the store (it is gone or quarantined)
    RecordVerified,  // store pid + start_time + allowlist of a confined running VM
    RecordExit,      // the verified VM is gone without us stopping it
    WaitUntil,       // restart backoff: come back at `not_before`
  };
  Kind kind;
  std::string machine;
  std::optional<Ipv4> address;
  Allowlist allowlist;
  std::int64_t pid = 0;
  std::uint64_t start_time = 0;
  KillReason reason = KillReason::Drift;
  std::string detail;
  TimePoint not_before{};
  // What the action was planned from: the executor records these, never the bottle's spec as it
  // is when the action completes (the spec may have changed meanwhile; the next round sees that).
  MachineShape shape;                      // Create, Adopt
  OnRemove on_remove = OnRemove::Delete;   // Create, Adopt, Remember

  // One constructor per kind, setting exactly the fields that kind carries (the rest stay at
  // their defaults), so a plan never holds an action with another kind's stale payload.
  static Action acquire_lease(std::optional<Ipv4> fixed);  // nullopt: the lowest free address
  static Action release_lease();
  static Action create(std::string machine, Allowlist allowlist, MachineShape shape, OnRemove on_remove);
  static Action adopt(std::string machine, MachineShape shape, OnRemove on_remove);
  static Action remember(std::string machine, OnRemove on_remove);
  static Action patch(std::string machine, Allowlist allowlist, std::string detail);
  static Action quarantine(std::string machine);
  static Action kill(std::string machine, std::int64_t pid, std::uint64_t start_time, KillReason reason,
                     std::string detail);
  static Action start(std::string machine);
  static Action stop(std::string machine);
  static Action delete_machine(std::string machine, std::string detail = {});
  static Action forget(std::string machine);
  static Action record_verified(std::string machine, std::int64_t pid, std::uint64_t start_time, Allowlist allowlist);
  static Action record_exit(std::string machine, std::int64_t pid, std::string detail = {});
  static Action wait_until(std::string machine, TimePoint not_before);

  bool operator==(const Action&) const = default;
};

std::string to_string(const Action& a);  // "kill machine=x pid=1 reason=drift", for logs and tests

}  // namespace bs
