// Waiting on a condition with a deadline: the only way a benchmark waits for the daemon.
#pragma once

#include <algorithm>
#include <chrono>

#include "bench/common/run_control.h"
#include "support/poll.h"

namespace bs::bench {

// Asks `ready` until it returns true (true), or `timeout` passed or the run was interrupted
// (false). The pauses between asks grow from 100 µs up to `every`: `every` bounds how late a
// benchmark notices; nothing here assumes how long the daemon takes.
template <class Ready>
bool wait_until(Ready&& ready, std::chrono::milliseconds timeout,
                std::chrono::microseconds every = std::chrono::milliseconds(2)) {
  bool done = false;
  const std::chrono::microseconds first = std::min<std::chrono::microseconds>(every, std::chrono::microseconds(100));
  bs::test::poll_until([&] { return (done = ready()) || interrupted(); }, timeout, {first, every});
  return done;
}

}  // namespace bs::bench
