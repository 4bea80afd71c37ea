#include "reconcile/restart_backoff.h"

#include <algorithm>

namespace bs {

void RestartHistory::record_exit(TimePoint now) {
  bool stable = last_start && now - *last_start >= kStableRun;
  exits = stable ? 1 : exits + 1;
  last_exit = now;
  start_unverified = false;  // that start's VM is accounted for
}

void RestartHistory::record_start(TimePoint now) {
  last_start = now;
  skip_backoff = false;
  start_unverified = true;
}

Millis restart_delay(int exits, Millis initial, Millis max) {
  if (exits <= 1) return Millis(0);
  Millis d = initial;
  for (int i = 2; i < exits && d < max; ++i) d *= 2;
  return std::min(d, max);
}

std::optional<TimePoint> restart_not_before(const RestartHistory& h, Millis initial, Millis max) {
  std::optional<TimePoint> at;
  if (!h.skip_backoff && h.last_exit) {
    Millis d = restart_delay(h.exits, initial, max);
    if (d.count() != 0) at = *h.last_exit + d;
  }
  // The second VM in a row that we started and had to kill waits `initial`, then twice that...
  if (h.last_unconfined_kill) {
    Millis d = restart_delay(h.unconfined_starts, initial, max);
    if (d.count() != 0 && (!at || *at < *h.last_unconfined_kill + d)) at = *h.last_unconfined_kill + d;
  }
  return at;
}

}  // namespace bs
