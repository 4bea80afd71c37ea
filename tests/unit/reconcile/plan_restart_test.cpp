// The planner's restarts (CONTRACT.md §6.6): backoff after exits and its reset, drift kills that
// are not exits, and VMs of our own starts that boot unconfined again and again.
#include <catch2/catch.hpp>

#include "plan_world.h"

using namespace bs;
using namespace bs::test;
using namespace std::chrono_literals;

TEST_CASE("planner: restart backoff after exits, and its reset", "[reconcile][plan]") {
  BottleInput in = managed_bottle();
  in.backoff_initial = 1000ms;
  in.backoff_max = 300000ms;
  in.observed["bottle-a"] = ok_row(Policy::of(kOwn));

  SECTION("1st exit: restarted at once") {
    in.verified["bottle-a"] = Verified{42, 1042, kOwn};
    in.restarts.record_start(kPlanNow - 1min);
    CHECK(plan_of(in) == Strings{"record-exit machine=bottle-a pid=42", "start machine=bottle-a"});
  }
  SECTION("5th exit within 10 minutes: waits initial * 2^3") {
    in.verified["bottle-a"] = Verified{42, 1042, kOwn};
    in.restarts.exits = 4;
    in.restarts.record_start(kPlanNow - 1min);
    Plan p = plan_bottle(in);
    REQUIRE(p.actions.size() == 2);
    CHECK(p.actions[1].kind == Action::Kind::WaitUntil);
    CHECK(p.actions[1].not_before == kPlanNow + 8s);
  }
  SECTION("20th exit: capped at backoff.max") {
    in.restarts.exits = 20;
    in.restarts.record_start(kPlanNow - 2min);
    in.restarts.last_exit = kPlanNow - 1min;
    in.restarts.start_unverified = false;  // that start's VM is the exit already recorded
    Plan p = plan_bottle(in);
    REQUIRE(p.actions.size() == 1);
    CHECK(p.actions[0].kind == Action::Kind::WaitUntil);
    CHECK(p.actions[0].not_before == kPlanNow - 1min + 300s);
  }
  SECTION("10 minutes of stable running resets it") {
    in.verified["bottle-a"] = Verified{42, 1042, kOwn};
    in.restarts.exits = 7;
    in.restarts.record_start(kPlanNow - 11min);
    CHECK(plan_of(in) == Strings{"record-exit machine=bottle-a pid=42", "start machine=bottle-a"});
  }
  SECTION("the backoff table") {
    CHECK(restart_delay(1, 1000ms, 300000ms) == 0ms);
    CHECK(restart_delay(2, 1000ms, 300000ms) == 1000ms);
    CHECK(restart_delay(5, 1000ms, 300000ms) == 8000ms);
    CHECK(restart_delay(20, 1000ms, 300000ms) == 300000ms);
  }
}

TEST_CASE("planner: a drift kill is not an exit: the confined restart is never delayed", "[reconcile][plan]") {
  BottleInput in = managed_bottle();
  in.restarts.exits = 6;  // a crash-looping VM, deep in backoff
  in.restarts.record_start(kPlanNow - 10s);
  in.restarts.last_exit = kPlanNow - 5s;
  in.verified["bottle-a"] = Verified{42, 1042, kOwn};
  in.observed["bottle-a"] = ok_row(Policy::of(kOwn), running_vm(43, Policy::unrestricted()));
  CHECK(plan_of(in) == Strings{"kill machine=bottle-a pid=43 reason=drift", "start machine=bottle-a"});

  // And after the kill was carried out (the supervisor records it), the next round starts too.
  in.restarts.record_kill(kPlanNow);
  in.observed["bottle-a"] = ok_row(Policy::of(kOwn));
  in.verified.clear();
  CHECK(plan_of(in) == Strings{"start machine=bottle-a"});
}

TEST_CASE("planner: VMs we start that boot unconfined again and again are restarted with backoff",
          "[reconcile][plan]") {
  BottleInput in = managed_bottle();
  in.backoff_initial = 1000ms;
  in.backoff_max = 8000ms;
  // Our start's VM booted unrestricted although the row was verified: killed, restarted at once
  // (the desired allowlist may have changed while the start ran).
  in.restarts.record_start(kPlanNow - 1s);
  in.observed["bottle-a"] = ok_row(Policy::of(kOwn), running_vm(43, Policy::unrestricted()));
  CHECK(plan_of(in) == Strings{"kill machine=bottle-a pid=43 reason=drift", "start machine=bottle-a"});
  in.restarts.record_kill(kPlanNow);
  CHECK(in.restarts.unconfined_starts == 1);

  // The restarted VM is unconfined too: the next start waits `initial`, then twice that.
  in.restarts.record_start(kPlanNow);
  Plan p = plan_bottle(in);
  REQUIRE(p.actions.size() == 2);
  CHECK(to_string(p.actions[0]) == "kill machine=bottle-a pid=43 reason=drift");
  CHECK(p.actions[1].kind == Action::Kind::WaitUntil);
  CHECK(p.actions[1].not_before == kPlanNow + 1000ms);
  in.restarts.record_kill(kPlanNow);
  in.restarts.record_start(kPlanNow + 1s);
  in.restarts.record_kill(kPlanNow + 1s);
  in.observed["bottle-a"] = ok_row(Policy::of(kOwn));
  in.now = kPlanNow + 1s;
  p = plan_bottle(in);
  REQUIRE(p.actions.size() == 1);
  CHECK(p.actions[0].not_before == kPlanNow + 1s + 2000ms);

  // A verified VM ends the run: the next drift kill restarts at once again.
  in.restarts.record_start(kPlanNow + 4s);
  in.restarts.record_verified();
  CHECK(in.restarts.unconfined_starts == 0);
  in.now = kPlanNow + 5s;
  in.restarts.record_kill(kPlanNow + 5s);
  CHECK(plan_of(in) == Strings{"start machine=bottle-a"});
}

TEST_CASE("planner: a VM killed while our start of it still runs counts as our unconfined start",
          "[reconcile][plan]") {
  // smolvm's start returns only after the guest agent answered; the supervisor judges the VM from
  // agent.pid long before, so the kill usually comes first (and the start then fails).
  BottleInput in = managed_bottle();
  in.backoff_initial = 1000ms;
  in.restarts.record_kill(kPlanNow, true);
  CHECK(in.restarts.unconfined_starts == 1);
  in.observed["bottle-a"] = ok_row(Policy::of(kOwn));
  CHECK(plan_of(in) == Strings{"start machine=bottle-a"});  // the first one: at once
  in.restarts.record_kill(kPlanNow, true);
  Plan p = plan_bottle(in);
  REQUIRE(p.actions.size() == 1);
  CHECK(p.actions[0].kind == Action::Kind::WaitUntil);  // the second in a row waits
  CHECK(p.actions[0].not_before == kPlanNow + 1000ms);
  // Not during a start of ours (someone else's VM): no count.
  in.restarts = RestartHistory{};
  in.restarts.record_kill(kPlanNow, false);
  CHECK(in.restarts.unconfined_starts == 0);
}
