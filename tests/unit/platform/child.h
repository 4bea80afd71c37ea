// The names tests/unit/supervisor still takes from here (Child, eventually), mapped onto
// tests/support, where the helpers themselves now live. It goes once those tests include
// support/forked_child.h and support/poll.h themselves.
#pragma once

#include <chrono>
#include <functional>

#include "support/forked_child.h"
#include "support/poll.h"

namespace bs::platform::test {

using Child = bs::test::ForkedChild;

inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  return bs::test::poll_until(condition, timeout);
}

}  // namespace bs::platform::test
