// How status reports a bottle's machine (CONTRACT.md §8): actual state and confinement.
#include "reconcile/plan.h"

#include "reconcile/booted_verdict.h"

namespace bs {

std::string to_string(Actual a) {
  switch (a) {
    case Actual::Running: return "running";
    case Actual::Stopped: return "stopped";
    case Actual::Missing: return "missing";
    case Actual::Unknown: return "unknown";
  }
  return "unknown";
}

std::string to_string(Confinement c) {
  switch (c) {
    case Confinement::Verified: return "verified";
    case Confinement::Pending: return "pending";
    case Confinement::Drifted: return "drifted";
    case Confinement::Unverifiable: return "unverifiable";
    case Confinement::NotApplicable: return "n/a";
  }
  return "n/a";
}

Assessment assess(const MachineObservation* obs, const std::optional<Allowlist>& desired) {
  using Row = MachineObservation::Row;
  if (obs == nullptr || obs->row == Row::Missing) return {Actual::Missing, Confinement::NotApplicable};
  if (obs->row == Row::DbUnavailable || obs->row == Row::Unreadable) {
    return {obs->vm ? Actual::Running : Actual::Unknown, Confinement::Unverifiable};
  }
  Assessment a;
  a.actual = obs->vm ? Actual::Running : Actual::Stopped;
  const bool row_confined = desired && obs->allowed.equals(*desired);
  if (!obs->vm) {
    a.confinement = row_confined ? Confinement::Verified : Confinement::Pending;
    return a;
  }
  // The running VM's verdict is the kill path's (judge_booted): what is killed is what status
  // calls drifted or unverifiable.
  switch (judge_booted(*obs->vm, desired).verdict) {
    case BootedVerdict::Confined: a.confinement = row_confined ? Confinement::Verified : Confinement::Pending; break;
    case BootedVerdict::Pending: a.confinement = Confinement::Pending; break;
    case BootedVerdict::Drifted: a.confinement = Confinement::Drifted; break;
    case BootedVerdict::Unverifiable: a.confinement = Confinement::Unverifiable; break;
  }
  return a;
}

}  // namespace bs
