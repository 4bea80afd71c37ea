// Waiting for a condition, in a test or a benchmark. The condition is asked; while it does not
// hold, the pauses between asks grow (pace.first, twice that, ... up to pace.most) so a slow
// condition costs few asks and a quick one is still seen within about a millisecond. The pauses
// only pace the asking: what ends the wait is the condition, or the deadline, never a fixed time.
#pragma once

#include <chrono>
#include <functional>

namespace bs::test {

struct PollPace {
  std::chrono::microseconds first{1000};
  std::chrono::microseconds most{10000};
};

// True as soon as `condition` holds; false when it still does not at the deadline (where it is
// asked one last time).
bool poll_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout, PollPace pace = {});

}  // namespace bs::test
