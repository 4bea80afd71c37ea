// The one answer to "is this running VM confined as desired?", from the policy it booted with.
// The planner's kills (drift_kill), the fast drift path and `status`'s confinement all ask it
// here, so a VM `status` calls drifted is exactly a VM the kill path kills, and one it calls
// pending is one the kill path waits for.
#pragma once

#include <optional>
#include <string>

#include "reconcile/cidr.h"
#include "reconcile/world.h"

namespace bs {

enum class BootedVerdict {
  Confined,      // booted with exactly the desired allowlist
  Pending,       // a start in flight: its booted policy is not known yet (bounded window)
  Drifted,       // booted with another allowlist than the desired one
  Unverifiable,  // no desired allowlist to check against, or the booted policy cannot be read
};
std::string to_string(BootedVerdict v);  // "confined", "pending", "drifted", "unverifiable"

struct BootedJudgement {
  BootedVerdict verdict = BootedVerdict::Confined;
  std::string detail;  // "pid 7: booted with [...], desired [...]": for kill events and logs
};

// The running VM `vm` judged against `desired` (nullopt: the bottle has no lease, so nothing says
// what it may reach). Pure.
BootedJudgement judge_booted(const RunningVm& vm, const std::optional<Allowlist>& desired);

}  // namespace bs
