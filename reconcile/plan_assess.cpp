// How status reports a bottle's machine (CONTRACT.md §8): actual state and confinement.
#include "reconcile/plan.h"

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
  if (!desired) {
    a.confinement = obs->vm ? Confinement::Unverifiable : Confinement::Pending;
  } else if (obs->vm && obs->vm->booted.kind == Policy::Kind::Invalid) {
    a.confinement = Confinement::Unverifiable;
  } else if (obs->vm && obs->vm->booted.kind == Policy::Kind::Pending) {
    a.confinement = Confinement::Pending;
  } else if (obs->vm && !obs->vm->booted.equals(*desired)) {
    a.confinement = Confinement::Drifted;
  } else {
    a.confinement = obs->allowed.equals(*desired) ? Confinement::Verified : Confinement::Pending;
  }
  return a;
}

}  // namespace bs
