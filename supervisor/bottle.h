// The supervisor's in-memory record of one bottle: its desired state as last read, and what
// is going on with it right now. Persistent facts (leases, managed machines, verified VMs,
// events) live in the store; this is rebuilt from the spec folder and the store at start.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "reconcile/plan.h"
#include "reconcile/spec.h"
#include "supervisor/time_source.h"

namespace bs::supervisor {

// The last exit of the bottle's VM that the supervisor saw happen (its exit watch).
struct LastExit {
  std::int64_t pid = 0;
  std::optional<std::string> how;  // "exit code 1", "killed by SIGSEGV"; unknown if not our child
  std::int64_t at_ms = 0;
};

struct Bottle {
  std::string name;
  std::string spec_path;
  std::optional<BottleSpec> spec;         // last valid desired state
  std::optional<std::string> spec_error;  // the current spec's problem
  bool file_present = false;              // absent and its removal grace: RemovalGrace
  RestartHistory restarts;

  // The reconcile step in hand.
  std::vector<Action> plan;
  std::size_t next_action = 0;
  int rounds = 0;
  std::optional<std::string> plan_error;  // the planner's error from the last round
  bool settled = false;                   // the last step ended with an empty plan, no error
  std::optional<std::string> exec_error;  // the last failed action's error
  std::string last_reported_error;        // to log an error event once per distinct error

  std::optional<LastExit> last_exit;

  std::string last_event;
  std::int64_t last_event_ms = 0;
};

}  // namespace bs::supervisor
