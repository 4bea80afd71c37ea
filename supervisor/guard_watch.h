// What the supervisor knows of the smolvm machines no spec manages: bot-bottle's own launches and
// anybody else's. Owned by the Supervisor (one member); filled by guard_watch.cpp, read by status.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "reconcile/guard.h"
#include "reconcile/world.h"
#include "supervisor/time_source.h"

namespace bs::supervisor {

struct OutsideMachine {
  std::optional<GuardRule> rule;  // the [[guard]] rule that applies; nullopt: unmanaged
  MachineObservation observed;
  GuardJudgement judgement;
};

struct GuardState {
  explicit GuardState(TimeSource& time) : recheck(time) {}

  std::map<std::string, OutsideMachine> machines;  // by machine: every row no spec manages
  // VMs (pid, start time) already reported (guard-violation or the unconfined warning): once per
  // VM, not once per pass.
  std::set<std::pair<std::int64_t, std::uint64_t>> reported;
  std::vector<LeaseConflict> conflicts;  // as of the last check
  std::uint64_t kills = 0;
  // Grows whenever the set of guarded machines changes: the data-dir watch resyncs on it.
  std::uint64_t version = 0;
  Timer recheck;  // a guarded VM's pending window ends: judge the outside machines again

  std::set<std::string> guarded() const {
    std::set<std::string> out;
    for (const auto& [m, o] : machines) {
      if (o.rule) out.insert(m);
    }
    return out;
  }
};

}  // namespace bs::supervisor
