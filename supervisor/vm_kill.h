// The kill path's one decision: signal a VM only while the pid is still the process the plan
// judged (its start time, and smolvm's exact VM command line for the machine), and say what
// came of it. Processes are reached through ProcessControl, so the path is tested with a fake
// process table; what a kill changes in the daemon's records is the caller's (Supervisor::kill).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "platform/identity.h"
#include "reconcile/plan.h"

namespace bs::supervisor {

// The /proc and kill(2) seam.
class ProcessControl {
 public:
  virtual ~ProcessControl() = default;
  // SIGKILL to `pid` only while it is the process `start_time` and `rule` describe.
  virtual platform::KillResult kill_verified(std::int64_t pid, std::optional<std::uint64_t> start_time,
                                             const platform::ArgvRule& rule) = 0;
  // After a kill: until the kernel has torn the process down (well under a millisecond), so the
  // next start never meets it; reaps it if it is our child.
  virtual void wait_gone(std::int64_t pid) = 0;
};

// The host's processes.
class HostProcesses final : public ProcessControl {
 public:
  platform::KillResult kill_verified(std::int64_t pid, std::optional<std::uint64_t> start_time,
                                     const platform::ArgvRule& rule) override;
  void wait_gone(std::int64_t pid) override;
};

struct KillReport {
  enum class Result {
    Killed,    // signalled and gone: record it, restart the bottle confined
    NotThere,  // already gone, or the pid is another process now: nothing was signalled
    Failed,    // it could not be signalled: an error, retried with backoff
  };
  Result result = Result::Failed;
  std::string event_kind;  // Killed: "drift-killed" or "stray-killed"
  std::string detail;      // Killed: the event's detail; otherwise what happened, for logs/errors
  bool drift = false;      // Killed: counts as a drift kill (a stray does not)
};

// Kills the VM `a` (a Kill action) names, if it is still that VM.
KillReport kill_vm(ProcessControl& processes, const Action& a, const platform::ArgvRule& vm_command_line);

}  // namespace bs::supervisor
