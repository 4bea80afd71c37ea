// Restart backoff for VMs that exit by themselves (CONTRACT §6.6). Pure: time is passed in.
#pragma once

#include <chrono>
#include <optional>

namespace bs {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Millis = std::chrono::milliseconds;

// Runs of at least this long reset the count: the next exit restarts at once again.
inline constexpr Millis kStableRun = std::chrono::minutes(10);

struct RestartHistory {
  int exits = 0;                          // consecutive exits, each within kStableRun of its start
  std::optional<TimePoint> last_start;    // when we last started (or adopted) the VM
  std::optional<TimePoint> last_exit;     // when the last exit was observed
  bool skip_backoff = false;              // set by a drift kill: the confined restart is never delayed

  // A VM of this bottle exited by itself at `now`.
  void record_exit(TimePoint now);
  // A start was issued (or a running VM was verified) at `now`.
  void record_start(TimePoint now);
  // The supervisor killed the VM for drift or unverifiable confinement.
  void record_kill() { skip_backoff = true; }
};

// Delay before the next start after `exits` consecutive exits: 0 for the first, then initial,
// 2*initial, ... capped at max.
Millis restart_delay(int exits, Millis initial, Millis max);

// When a start may happen; nullopt = now.
std::optional<TimePoint> restart_not_before(const RestartHistory& h, Millis initial, Millis max);

}  // namespace bs
