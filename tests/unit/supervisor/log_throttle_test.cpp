// At most one line per interval for a message a peer can trigger at will.
#include <catch2/catch.hpp>

#include "supervisor/log_throttle.h"

using bs::supervisor::LogThrottle;
using namespace std::chrono_literals;

TEST_CASE("log throttle: the first line, then one per interval with the count suppressed", "[supervisor]") {
  LogThrottle t(1s);
  const auto t0 = LogThrottle::Clock::time_point{} + 100s;
  CHECK(t.admit(t0) == 0u);
  for (int i = 1; i <= 500; ++i) CHECK_FALSE(t.admit(t0 + std::chrono::milliseconds(i)).has_value());
  CHECK(t.admit(t0 + 1s) == 500u);
  CHECK_FALSE(t.admit(t0 + 1500ms).has_value());
  CHECK(t.admit(t0 + 5s) == 1u);
  CHECK(bs::supervisor::suppressed_note(0).empty());
  CHECK(bs::supervisor::suppressed_note(3) == " (3 more like it not logged)");
}
