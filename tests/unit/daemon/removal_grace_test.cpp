// The removal grace on a fake clock: a bottle is handed on when its grace has passed, not before;
// a returning file, a hold of the spec folder and a changed grace all behave as CONTRACT §6.7 says.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "support/fake_time.h"
#include "supervisor/removal_grace.h"

using namespace std::chrono_literals;
using bs::supervisor::RemovalGrace;
using bs::test::FakeTime;

namespace {

struct Grace {
  FakeTime time;
  std::vector<std::string> due;
  RemovalGrace grace{time, 2000ms, [this](const std::string& b) { due.push_back(b); }};
};

}  // namespace

TEST_CASE("removal grace: a bottle is due once its file stayed away for the whole grace", "[daemon-unit]") {
  Grace g;
  g.grace.begin("a");
  CHECK(g.grace.absent("a"));
  CHECK_FALSE(g.grace.removed("a"));
  CHECK(g.grace.running("a"));
  g.time.advance(1999ms);
  CHECK(g.due.empty());
  CHECK_FALSE(g.grace.removed("a"));
  g.time.advance(2ms);  // the timer fires 1 ms late on purpose (the loop's clock may lag)
  CHECK(g.due == std::vector<std::string>{"a"});
  CHECK(g.grace.removed("a"));
  CHECK_FALSE(g.grace.running("a"));
  g.time.advance(60000ms);
  CHECK(g.due.size() == 1);  // once: no timer left behind
}

TEST_CASE("removal grace: a file that comes back ends its grace", "[daemon-unit]") {
  Grace g;
  g.grace.begin("a");
  g.time.advance(1500ms);
  g.grace.end("a");
  CHECK_FALSE(g.grace.absent("a"));
  g.time.advance(10000ms);
  CHECK(g.due.empty());
  // Gone again: a whole new grace, not what was left of the first.
  g.grace.begin("a");
  g.time.advance(1000ms);
  CHECK(g.due.empty());
  g.time.advance(1001ms);
  CHECK(g.due == std::vector<std::string>{"a"});
}

TEST_CASE("removal grace: while the folder is held nothing is due, and each grace restarts on resume",
          "[daemon-unit]") {
  Grace g;
  g.grace.begin("a");
  g.time.advance(1900ms);
  g.grace.hold();
  CHECK(g.grace.held());
  g.time.advance(60000ms);
  CHECK(g.due.empty());
  CHECK_FALSE(g.grace.removed("a"));  // held: never "removed", however long
  CHECK(g.grace.absent("a"));
  g.grace.resume();
  CHECK_FALSE(g.grace.removed("a"));
  g.time.advance(1999ms);
  CHECK(g.due.empty());  // the time held did not count, nor did the 1.9 s before it
  g.time.advance(2ms);
  CHECK(g.due == std::vector<std::string>{"a"});
}

TEST_CASE("removal grace: a changed grace applies to the graces already running", "[daemon-unit]") {
  Grace g;
  g.grace.begin("a");
  g.time.advance(500ms);
  g.grace.set_grace(10000ms);
  g.time.advance(5000ms);
  CHECK(g.due.empty());
  CHECK(*g.grace.due_in("a") == 4501);
  g.grace.set_grace(1000ms);  // already past: due at once
  g.time.run_due();
  g.time.advance(1ms);
  CHECK(g.due == std::vector<std::string>{"a"});
}

TEST_CASE("removal grace: asked before its timer fired, a grace is armed again for what is left", "[daemon-unit]") {
  Grace g;
  g.grace.begin("a");
  g.time.advance(1000ms);
  g.grace.stop();  // e.g. the timer was lost: rearm puts it back
  CHECK_FALSE(g.grace.running("a"));
  g.grace.rearm("a");
  CHECK(g.grace.running("a"));
  g.time.advance(1001ms);
  CHECK(g.due == std::vector<std::string>{"a"});
}
