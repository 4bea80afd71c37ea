// The optional `on_drift_kill` command (config, CONTRACT §4): run once per drift-killed event,
// with the event in its environment, on the loop and never waited for. At most
// kMaxRunningHooks run at once (a kill storm drops the extra ones, with a warning), each killed
// after kHookTimeout; a hook that cannot start, fails or times out is logged, nothing more.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "supervisor/child_process.h"
#include "supervisor/event_journal.h"

namespace bs::supervisor {

inline constexpr std::size_t kMaxRunningHooks = 4;
inline constexpr std::chrono::milliseconds kHookTimeout{30000};

// The pid a kill's detail starts with ("pid 42: ..." or "unverifiable: pid 42: ...", from
// reconcile/plan.cpp's kill actions), if any.
std::optional<std::int64_t> pid_of_kill_detail(std::string_view detail);

// What the hook finds in its environment, besides the daemon's own: BOTTLE, MACHINE, PID (empty
// when the detail names none), DETAIL, BS_EVENT_KIND and BS_EVENT_TIME (RFC 3339, UTC).
std::map<std::string, std::string> drift_hook_env(const JournalEvent& e, std::int64_t ts_ms);

class DriftHook {
 public:
  explicit DriftHook(uv_loop_t* loop) : runner_(loop) {}

  // Starts `argv` for the event (nothing when argv is empty, i.e. no hook configured).
  void run(const std::vector<std::string>& argv, const JournalEvent& e, std::int64_t ts_ms);
  std::set<std::int64_t> child_pids() const { return runner_.child_pids(); }

 private:
  CommandRunner runner_;
};

}  // namespace bs::supervisor
