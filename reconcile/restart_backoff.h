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
  // A smolvm that boots every VM we start with another policy than the row's would make "kill,
  // restart at once" a hot loop. So a kill of a VM we started that was never verified counts: the
  // first such restart is still at once (the desired allowlist may just have changed while the
  // start ran), each further one in a row waits the backoff. A verified VM ends the run.
  bool start_unverified = false;          // our last start's VM has not been verified yet
  int unconfined_starts = 0;              // VMs we started, killed in a row before being verified
  std::optional<TimePoint> last_unconfined_kill;

  // A VM of this bottle exited by itself at `now`.
  void record_exit(TimePoint now);
  // A start was issued (or a running VM was verified) at `now`.
  void record_start(TimePoint now);
  // A VM of this bottle was verified confined.
  void record_verified() {
    start_unverified = false;
    unconfined_starts = 0;
  }
  // The supervisor killed the VM for drift or unverifiable confinement at `now`. `during_our_start`:
  // our own start of the machine was still running, so the VM was that start's (the start may
  // even fail for it): it counts as ours, although record_start has not happened yet.
  void record_kill(TimePoint now, bool during_our_start = false) {
    if (start_unverified || during_our_start) {
      ++unconfined_starts;
      last_unconfined_kill = now;
      start_unverified = false;
    }
    skip_backoff = true;
  }
};

// Delay before the next start after `exits` consecutive exits: 0 for the first, then initial,
// 2*initial, ... capped at max.
Millis restart_delay(int exits, Millis initial, Millis max);

// When a start may happen; nullopt = now.
std::optional<TimePoint> restart_not_before(const RestartHistory& h, Millis initial, Millis max);

}  // namespace bs
