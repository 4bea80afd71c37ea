// Policies and actions as text, for logs, events and tests.
#include "reconcile/plan.h"

namespace bs {

std::string Policy::str() const {
  switch (kind) {
    case Kind::Unrestricted: return "null (unrestricted)";
    case Kind::List: return to_string(list);
    case Kind::Invalid: return "unreadable (" + error + ")";
    case Kind::Pending: return "pending (" + error + ")";
  }
  return "?";
}

std::string to_string(const Action& a) {
  using K = Action::Kind;
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
