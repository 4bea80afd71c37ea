// A VM whose booted policy is Pending (spawned a moment ago, agent.pid not written yet) is neither
// killed nor recorded as verified, nor started again: the bottle waits, not converged, and is
// judged when the window closes (then the observer reports Invalid, and that is killed).
#include <catch2/catch.hpp>

#include "reconcile/plan.h"
#include "test_values.h"

using namespace bs;
using bs::test::ip;

namespace {

BottleInput pending_bottle(Policy booted) {
  BottleSpec s;
  s.name = "p";
  s.path = "/specs/p.toml";
  s.machine = "bottle-p";
  s.image = "alpine:3.20";
  BottleInput in;
  in.name = s.name;
  in.spec = s;
  in.lease = ip("127.0.0.16");
  in.managed.push_back(Managed{s.machine, false, s.on_remove, machine_fingerprint(s)});
  in.now = TimePoint{} + std::chrono::hours(100);
  MachineObservation o;
  o.row = MachineObservation::Row::Ok;
  o.allowed = Policy::of(make_allowlist({*parse_cidr("127.0.0.16/32")}));
  o.network = true;
  o.vm = RunningVm{42, 4242, std::move(booted), 1500};
  in.observed[s.machine] = o;
  return in;
}

}  // namespace

TEST_CASE("a pending booted policy waits: no kill, no record, no start, not converged", "[plan]") {
  Plan p = plan_bottle(pending_bottle(Policy::pending("no agent.pid yet")));
  CHECK(p.actions.empty());
  CHECK_FALSE(p.error);
  REQUIRE(p.pending);
  CHECK_THAT(*p.pending, Catch::Contains("pid 42"));
  CHECK_FALSE(p.converged());
  const auto in = pending_bottle(Policy::pending("x"));
  CHECK_FALSE(drift_kill("bottle-p", in.observed.at("bottle-p"), make_allowlist({*parse_cidr("127.0.0.16/32")})));
  CHECK(assess(&in.observed.at("bottle-p"), make_allowlist({*parse_cidr("127.0.0.16/32")})).confinement ==
        Confinement::Pending);
}

TEST_CASE("once the pending window closed (Invalid), the VM is killed as unverifiable", "[plan]") {
  Plan p = plan_bottle(pending_bottle(Policy::invalid("agent.pid names pid 7")));
  REQUIRE_FALSE(p.actions.empty());
  CHECK(to_string(p.actions.front()) == "kill machine=bottle-p pid=42 reason=unverifiable");
  CHECK_FALSE(p.pending);
}

TEST_CASE("a pending VM with an unrestricted row still gets its row patched", "[plan]") {
  BottleInput in = pending_bottle(Policy::pending("x"));
  in.observed["bottle-p"].allowed = Policy::unrestricted();
  Plan p = plan_bottle(in);
  REQUIRE(p.actions.size() == 1);
  CHECK(p.actions[0].kind == Action::Kind::Patch);
  CHECK(p.pending);
}

TEST_CASE("a VM of our own start that died before it was verified counts as an exit (no hot loop)", "[plan]") {
  BottleInput in = pending_bottle(Policy::pending("x"));
  in.observed["bottle-p"].vm.reset();
  in.restarts.record_start(in.now - std::chrono::milliseconds(200));
  SECTION("the first: restarted at once, the exit recorded") {
    Plan p = plan_bottle(in);
    REQUIRE(p.actions.size() == 2);
    CHECK(p.actions[0].kind == Action::Kind::RecordExit);
    CHECK(p.actions[1].kind == Action::Kind::Start);
  }
  SECTION("the next in a row waits the backoff") {
    in.restarts.record_exit(in.now - std::chrono::milliseconds(100));
    in.restarts.record_start(in.now - std::chrono::milliseconds(50));
    Plan p = plan_bottle(in);
    REQUIRE(p.actions.size() == 2);
    CHECK(p.actions[0].kind == Action::Kind::RecordExit);
    CHECK(p.actions[1].kind == Action::Kind::WaitUntil);
  }
  SECTION("a start whose VM was verified is not counted again") {
    in.restarts.record_verified();
    Plan p = plan_bottle(in);
    REQUIRE(p.actions.size() == 1);
    CHECK(p.actions[0].kind == Action::Kind::Start);
  }
}
