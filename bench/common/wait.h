// Waiting on a condition with a deadline: the only way a benchmark waits for the daemon.
#pragma once

#include <chrono>
#include <thread>

#include "bench/common/run_control.h"

namespace bs::bench {

// Polls `ready` every `every` until it returns true (true) or `timeout` passed or the run was
// interrupted (false). The poll interval only bounds how late we notice; nothing here assumes
// how long the daemon takes.
template <class Ready>
bool wait_until(Ready&& ready, std::chrono::milliseconds timeout,
                std::chrono::microseconds every = std::chrono::milliseconds(2)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (ready()) return true;
    if (std::chrono::steady_clock::now() >= deadline || interrupted()) return false;
    std::this_thread::sleep_for(every);
  }
}

}  // namespace bs::bench
