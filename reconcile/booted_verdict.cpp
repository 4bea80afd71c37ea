#include "reconcile/booted_verdict.h"

namespace bs {

std::string to_string(BootedVerdict v) {
  switch (v) {
    case BootedVerdict::Confined: return "confined";
    case BootedVerdict::Pending: return "pending";
    case BootedVerdict::Drifted: return "drifted";
    case BootedVerdict::Unverifiable: return "unverifiable";
  }
  return "unverifiable";
}

BootedJudgement judge_booted(const RunningVm& vm, const std::optional<Allowlist>& desired) {
  const std::string pid = "pid " + std::to_string(vm.pid);
  if (!desired) return {BootedVerdict::Unverifiable, pid + ": no desired allowlist to verify against (no lease)"};
  // A start in flight: not yet known. The window is short and bounded (the observer turns it
  // into Invalid when it closes), and the VM is judged again when it does or as soon as
  // agent.pid names it.
  if (vm.booted.kind == Policy::Kind::Pending) return {BootedVerdict::Pending, pid + ": booted policy " + vm.booted.str()};
  if (vm.booted.kind == Policy::Kind::Invalid) {
    return {BootedVerdict::Unverifiable, pid + ": booted policy " + vm.booted.str() + ", desired " + to_string(*desired)};
  }
  if (!vm.booted.equals(*desired)) {
    return {BootedVerdict::Drifted, pid + ": booted with " + vm.booted.str() + ", desired " + to_string(*desired)};
  }
  return {BootedVerdict::Confined, pid + ": booted with " + vm.booted.str()};
}

}  // namespace bs
