#include "support/poll.h"

#include <algorithm>
#include <thread>

namespace bs::test {

bool poll_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout, PollPace pace) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + timeout;
  const Clock::duration most = std::max(pace.most, pace.first);
  Clock::duration pause = pace.first;
  for (;;) {
    if (condition()) return true;
    const auto now = Clock::now();
    if (now >= deadline) return false;
    std::this_thread::sleep_for(std::min(pause, deadline - now));
    pause = std::min(pause * 2, most);
  }
}

}  // namespace bs::test
