#include "reconcile/restart_backoff.h"

#include <algorithm>

namespace bs {

void RestartHistory::record_exit(TimePoint now) {
  bool stable = last_start && now - *last_start >= kStableRun;
  exits = stable ? 1 : exits + 1;
  last_exit = now;
}

void RestartHistory::record_start(TimePoint now) {
  last_start = now;
  skip_backoff = false;
}

Millis restart_delay(int exits, Millis initial, Millis max) {
  if (exits <= 1) return Millis(0);
  Millis d = initial;
  for (int i = 2; i < exits && d < max; ++i) d *= 2;
  return std::min(d, max);
}

std::optional<TimePoint> restart_not_before(const RestartHistory& h, Millis initial, Millis max) {
  if (h.skip_backoff || !h.last_exit) return std::nullopt;
  Millis d = restart_delay(h.exits, initial, max);
  if (d.count() == 0) return std::nullopt;
  return *h.last_exit + d;
}

}  // namespace bs
