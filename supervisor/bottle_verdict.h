// Whether a bottle is converged, and the one error shown for it: the same answer for `status`,
// `reconcile` (and `reconcile --once`'s exit code), sd_notify's STATUS= line and the pass waiters.
// Pure: the caller gathers the facts, from a fresh plan (status) or from the last step's.
#pragma once

#include <optional>
#include <string>

namespace bs::supervisor {

struct BottleFacts {
  bool busy = false;          // its step runs, or a smolvm command for it is in flight
  bool plan_empty = false;    // the plan has nothing left to do
  bool plan_pending = false;  // ...but a VM's booted policy is not known yet
  std::optional<std::string> spec_error;    // its spec file's error (the last valid spec still applies)
  std::optional<std::string> exec_error;    // the last step failed
  std::optional<std::string> plan_error;    // the planner's reason it cannot converge
  std::optional<std::string> restart_wait;  // a restart waits its backoff: why, and until when
  std::optional<std::string> folder_problem;  // the spec folder cannot be read or trusted
  std::optional<std::string> removal;       // its spec file is gone: when the bottle is removed
};

struct BottleVerdict {
  bool converged = false;
  std::optional<std::string> error;  // the first that applies, in the order of BottleFacts
};

BottleVerdict judge_bottle(const BottleFacts& f);

}  // namespace bs::supervisor
