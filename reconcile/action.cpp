#include "reconcile/action.h"

namespace bs {

using K = Action::Kind;

namespace {

Action of_kind(K kind, std::string machine) {
  Action a{};
  a.kind = kind;
  a.machine = std::move(machine);
  return a;
}

}  // namespace

Action Action::acquire_lease(std::optional<Ipv4> fixed) {
  Action a = of_kind(K::AcquireLease, "");
  a.address = fixed;
  return a;
}

Action Action::release_lease() { return of_kind(K::ReleaseLease, ""); }

Action Action::create(std::string machine, Allowlist allowlist, MachineShape shape, OnRemove on_remove) {
  Action a = of_kind(K::Create, std::move(machine));
  a.allowlist = std::move(allowlist);
  a.shape = std::move(shape);
  a.on_remove = on_remove;
  return a;
}

Action Action::adopt(std::string machine, MachineShape shape, OnRemove on_remove) {
  Action a = of_kind(K::Adopt, std::move(machine));
  a.shape = std::move(shape);
  a.on_remove = on_remove;
  return a;
}

Action Action::remember(std::string machine, OnRemove on_remove) {
  Action a = of_kind(K::Remember, std::move(machine));
  a.on_remove = on_remove;
  return a;
}

Action Action::patch(std::string machine, Allowlist allowlist, std::string detail) {
  Action a = of_kind(K::Patch, std::move(machine));
  a.allowlist = std::move(allowlist);
  a.detail = std::move(detail);
  return a;
}

Action Action::quarantine(std::string machine) { return of_kind(K::Quarantine, std::move(machine)); }

Action Action::kill(std::string machine, std::int64_t pid, std::uint64_t start_time, KillReason reason,
                    std::string detail) {
  Action a = of_kind(K::Kill, std::move(machine));
  a.pid = pid;
  a.start_time = start_time;
  a.reason = reason;
  a.detail = std::move(detail);
  return a;
}

Action Action::start(std::string machine) { return of_kind(K::Start, std::move(machine)); }
Action Action::stop(std::string machine) { return of_kind(K::Stop, std::move(machine)); }

Action Action::delete_machine(std::string machine, std::string detail) {
  Action a = of_kind(K::Delete, std::move(machine));
  a.detail = std::move(detail);
  return a;
}

Action Action::forget(std::string machine) { return of_kind(K::Forget, std::move(machine)); }

Action Action::record_verified(std::string machine, std::int64_t pid, std::uint64_t start_time, Allowlist allowlist) {
  Action a = of_kind(K::RecordVerified, std::move(machine));
  a.pid = pid;
  a.start_time = start_time;
  a.allowlist = std::move(allowlist);
  return a;
}

Action Action::record_exit(std::string machine, std::int64_t pid, std::string detail) {
  Action a = of_kind(K::RecordExit, std::move(machine));
  a.pid = pid;
  a.detail = std::move(detail);
  return a;
}

Action Action::wait_until(std::string machine, TimePoint not_before) {
  Action a = of_kind(K::WaitUntil, std::move(machine));
  a.not_before = not_before;
  return a;
}

std::string to_string(const Action& a) {
  static const char* const kNames[] = {"acquire-lease", "release-lease", "create", "adopt", "remember",
                                       "patch", "quarantine", "kill", "start", "stop", "delete",
                                       "forget", "record-verified", "record-exit", "wait-until"};
  std::string s = kNames[static_cast<int>(a.kind)];
  if (!a.machine.empty()) s += " machine=" + a.machine;
  if (a.address) s += " address=" + a.address->str();
  if (!a.allowlist.empty()) s += " allowlist=" + to_string(a.allowlist);
  if (a.kind == K::Kill || a.kind == K::RecordVerified || a.kind == K::RecordExit) {
    s += " pid=" + std::to_string(a.pid);
  }
  if (a.kind == K::Kill) {
    s += a.reason == KillReason::Drift ? " reason=drift"
         : a.reason == KillReason::Stray ? " reason=stray" : " reason=unverifiable";
  }
  return s;
}

}  // namespace bs
