// The planner, situation by situation of CONTRACT.md §6 for the machine a spec names (lease,
// create or adopt, the row, the running VM, the run state), each asserting the exact action list
// (rendered with to_string(Action) so a failure shows the whole plan). plan_table_test.cpp has
// the same situations as one table of action kinds; removal, spec edits and restarts have files
// of their own.
#include <catch2/catch.hpp>

#include "plan_world.h"

using namespace bs;
using namespace bs::test;
using namespace std::chrono_literals;

TEST_CASE("planner: a new bottle leases first, then creates with its allowlist", "[reconcile][plan]") {
  BottleInput in;
  in.name = "a";
  in.spec = plain_spec();
  in.now = kPlanNow;
  CHECK(plan_of(in) == Strings{"acquire-lease"});

  in.lease = ip("127.0.0.16");
  in.observed["bottle-a"] = MachineObservation{};  // row missing
  CHECK(plan_of(in) == Strings{R"(create machine=bottle-a allowlist=["127.0.0.16/32"])"});
}

TEST_CASE("planner: egress.allow joins the bottle's own /32, canonical", "[reconcile][plan]") {
  BottleSpec s = plain_spec();
  s.egress_allow = allow({"10.1.2.3/8", "2001:db8::/32"});
  CHECK(to_string(desired_allowlist(s, ip("127.0.0.16"))) ==
        R"(["10.0.0.0/8", "127.0.0.16/32", "2001:db8::/32"])");
}

TEST_CASE("planner: a fixed loopback is leased as given", "[reconcile][plan]") {
  BottleInput in;
  in.name = "a";
  in.spec = plain_spec();
  in.spec->loopback = ip("127.0.0.20");
  in.now = kPlanNow;
  CHECK(plan_of(in) == Strings{"acquire-lease address=127.0.0.20"});
}

TEST_CASE("planner: the smolvm DB is missing -> cannot verify, nothing started", "[reconcile][plan]") {
  BottleInput in = managed_bottle();
  MachineObservation o;
  o.row = MachineObservation::Row::DbUnavailable;
  o.problem = "smolvm DB /x/smolvm.db does not exist";
  in.observed["bottle-a"] = o;
  Plan p = plan_bottle(in);
  CHECK(p.actions.empty());
  REQUIRE(p.error);
  CHECK(p.error->find("cannot verify") == 0);
}

TEST_CASE("planner: DB missing but our verified VM still booted confined -> left running", "[reconcile][plan]") {
  BottleInput in = managed_bottle();
  MachineObservation o;
  o.row = MachineObservation::Row::DbUnavailable;
  o.problem = "gone";
  o.vm = running_vm(42, Policy::of(kOwn));
  in.observed["bottle-a"] = o;
  CHECK(plan_of(in).empty());
  CHECK(plan_bottle(in).error);
}

TEST_CASE("planner: the row of a managed machine is missing -> created again", "[reconcile][plan]") {
  BottleInput in = managed_bottle();
  in.observed["bottle-a"] = MachineObservation{};
  CHECK(plan_of(in) == Strings{R"(create machine=bottle-a allowlist=["127.0.0.16/32"])"});
}

TEST_CASE("planner: allowed_cidrs null, wrong, host bits, another order", "[reconcile][plan]") {
  BottleInput in = managed_bottle();
  SECTION("null (unrestricted) is patched before the start") {
    in.observed["bottle-a"] = ok_row(Policy::unrestricted());
    CHECK(plan_of(in) == Strings{R"(patch machine=bottle-a allowlist=["127.0.0.16/32"])", "start machine=bottle-a"});
  }
  SECTION("a wrong list is patched") {
    in.observed["bottle-a"] = ok_row(Policy::of(allow({"0.0.0.0/0"})));
    CHECK(plan_of(in) == Strings{R"(patch machine=bottle-a allowlist=["127.0.0.16/32"])", "start machine=bottle-a"});
  }
  SECTION("[] (deny-all intent) is not our allowlist either") {
    in.observed["bottle-a"] = ok_row(Policy::of({}));
    CHECK(plan_of(in).front().rfind("patch", 0) == 0);
  }
  SECTION("equal in another order is equal") {
    BottleSpec s = plain_spec();
    s.egress_allow = allow({"10.0.0.0/8"});
    in = managed_bottle(s);
    auto stored = parse_allowlist({"10.0.0.0/8", "127.0.0.16/32", "127.0.0.16"});
    REQUIRE(stored);
    in.observed["bottle-a"] = ok_row(Policy::of(*stored));
    CHECK(plan_of(in) == Strings{"start machine=bottle-a"});
  }
  SECTION("host bits set are masked before comparing") {
    BottleSpec s = plain_spec();
    s.egress_allow = allow({"10.0.0.0/8"});
    in = managed_bottle(s);
    auto stored = parse_allowlist({"127.0.0.16/32", "10.9.9.9/8"});
    REQUIRE(stored);
    in.observed["bottle-a"] = ok_row(Policy::of(*stored));
    CHECK(plan_of(in) == Strings{"start machine=bottle-a"});
  }
}

TEST_CASE("planner: a TEXT-typed or unparseable row -> cannot verify, not started", "[reconcile][plan]") {
  BottleInput in = managed_bottle();
  MachineObservation o;
  o.row = MachineObservation::Row::Unreadable;
  o.problem = "data is TEXT, smolvm cannot read it";
  in.observed["bottle-a"] = o;
  Plan p = plan_bottle(in);
  CHECK(p.actions.empty());
  REQUIRE(p.error);
  CHECK(p.error->find("data is TEXT") != std::string::npos);
}

TEST_CASE("planner: running VM, start time matches, booted policy equal -> recorded, left alone", "[reconcile][plan]") {
  BottleInput in = managed_bottle();
  in.observed["bottle-a"] = ok_row(Policy::of(kOwn), running_vm(42, Policy::of(kOwn)));
  CHECK(plan_of(in) == Strings{R"(record-verified machine=bottle-a allowlist=["127.0.0.16/32"] pid=42)"});
  // Already recorded (e.g. after a supervisor restart): a healthy VM is not touched at all.
  in.verified["bottle-a"] = Verified{42, 1042, kOwn};
  CHECK(plan_of(in).empty());
  CHECK(plan_bottle(in).converged());
}

TEST_CASE("planner: booted policy differs -> drift kill, then confined start in the same plan", "[reconcile][plan]") {
  BottleInput in = managed_bottle();
  in.observed["bottle-a"] = ok_row(Policy::of(kOwn), running_vm(42, Policy::unrestricted()));
  CHECK(plan_of(in) == Strings{"kill machine=bottle-a pid=42 reason=drift", "start machine=bottle-a"});
}

TEST_CASE("planner: booted policy unreadable -> unverifiable kill", "[reconcile][plan]") {
  BottleInput in = managed_bottle();
  in.observed["bottle-a"] = ok_row(Policy::of(kOwn), running_vm(42, Policy::invalid("no boot-config.json")));
  CHECK(plan_of(in) == Strings{"kill machine=bottle-a pid=42 reason=unverifiable", "start machine=bottle-a"});
}

TEST_CASE("planner: a row pid reused by another process or a zombie is never signalled", "[reconcile][plan]") {
  BottleInput in = managed_bottle();
  MachineObservation o = ok_row(Policy::of(kOwn));
  o.pid_note = GENERATE(as<std::string>{}, "pid 42 belongs to another process", "pid 42 is a zombie");
  in.observed["bottle-a"] = o;
  CHECK(plan_of(in) == Strings{"start machine=bottle-a"});
}

TEST_CASE("planner: null pid_start_time, command line names our boot-config -> it is our VM", "[reconcile][plan]") {
  // The observer applies the identity rule; the planner sees a running VM either way.
  BottleInput in = managed_bottle();
  in.verified["bottle-a"] = Verified{42, 1042, kOwn};
  in.observed["bottle-a"] = ok_row(Policy::of(kOwn), running_vm(42, Policy::of(kOwn)));
  CHECK(plan_of(in).empty());
}

TEST_CASE("planner: the stale-copy stop rewrote the row -> re-patched, not started", "[reconcile][plan]") {
  BottleSpec s = plain_spec();
  s.state = RunState::Stopped;
  BottleInput in = managed_bottle(s);
  in.observed["bottle-a"] = ok_row(Policy::unrestricted());  // machine stop wrote its old snapshot
  CHECK(plan_of(in) == Strings{R"(patch machine=bottle-a allowlist=["127.0.0.16/32"])"});
}

TEST_CASE("planner: an existing machine not created by us is adopted", "[reconcile][plan]") {
  BottleInput in;
  in.name = "a";
  in.spec = plain_spec();
  in.lease = ip("127.0.0.16");
  in.now = kPlanNow;
  in.observed["bottle-a"] = ok_row(Policy::unrestricted());
  CHECK(plan_of(in) == Strings{"adopt machine=bottle-a",
                               R"(patch machine=bottle-a allowlist=["127.0.0.16/32"])",
                               "start machine=bottle-a"});
}

TEST_CASE("planner: desired stopped and running confined -> stop", "[reconcile][plan]") {
  BottleSpec s = plain_spec();
  s.state = RunState::Stopped;
  BottleInput in = managed_bottle(s);
  in.verified["bottle-a"] = Verified{42, 1042, kOwn};
  in.observed["bottle-a"] = ok_row(Policy::of(kOwn), running_vm(42, Policy::of(kOwn)));
  CHECK(plan_of(in) == Strings{"stop machine=bottle-a"});
}

TEST_CASE("planner: stray _boot-vm processes of a managed machine are killed", "[reconcile][plan]") {
  BottleInput in = managed_bottle();
  in.verified["bottle-a"] = Verified{42, 1042, kOwn};
  in.observed["bottle-a"] = ok_row(Policy::of(kOwn), running_vm(42, Policy::of(kOwn)));
  in.strays["bottle-a"] = {StrayVm{42, 1042}, StrayVm{77, 5000}};
  CHECK(plan_of(in) == Strings{"kill machine=bottle-a pid=77 reason=stray"});
}

TEST_CASE("planner: status assessment", "[reconcile][plan]") {
  MachineObservation missing;
  CHECK(to_string(assess(&missing, kOwn).actual) == "missing");
  CHECK(to_string(assess(&missing, kOwn).confinement) == "n/a");
  MachineObservation ok = ok_row(Policy::of(kOwn), running_vm(1, Policy::of(kOwn)));
  CHECK(to_string(assess(&ok, kOwn).actual) == "running");
  CHECK(to_string(assess(&ok, kOwn).confinement) == "verified");
  MachineObservation drifted = ok_row(Policy::of(kOwn), running_vm(1, Policy::unrestricted()));
  CHECK(to_string(assess(&drifted, kOwn).confinement) == "drifted");
  MachineObservation pending = ok_row(Policy::unrestricted());
  CHECK(to_string(assess(&pending, kOwn).actual) == "stopped");
  CHECK(to_string(assess(&pending, kOwn).confinement) == "pending");
  MachineObservation unreadable;
  unreadable.row = MachineObservation::Row::Unreadable;
  CHECK(to_string(assess(&unreadable, kOwn).actual) == "unknown");
  CHECK(to_string(assess(&unreadable, kOwn).confinement) == "unverifiable");
}

TEST_CASE("planner: the row of a managed machine deleted under its running VM", "[reconcile][plan]") {
  BottleInput in = managed_bottle();
  in.verified["bottle-a"] = Verified{42, 1042, kOwn};
  MachineObservation o;  // row missing, but our verified VM still runs
  o.vm = running_vm(42, Policy::of(kOwn));
  in.observed["bottle-a"] = o;
  CHECK(plan_of(in) == Strings{"kill machine=bottle-a pid=42 reason=unverifiable",
                               R"(create machine=bottle-a allowlist=["127.0.0.16/32"])"});
}

TEST_CASE("planner: the row names another pid while the VM we verified still runs -> a stray, not an exit",
          "[reconcile][plan]") {
  BottleInput in = managed_bottle();
  in.verified["bottle-a"] = Verified{42, 1042, kOwn};
  MachineObservation o = ok_row(Policy::of(kOwn));
  o.superseded = StrayVm{42, 1042};

  SECTION("the row's new pid is not a VM of this machine") {
    o.pid_note = "pid 77 belongs to another process";
    in.observed["bottle-a"] = o;
    in.strays["bottle-a"] = {StrayVm{42, 1042}};  // the resync's scan names it too: killed once
    Plan p = plan_bottle(in);
    REQUIRE(p.actions.size() == 2);
    CHECK(to_string(p.actions[0]) == "kill machine=bottle-a pid=42 reason=stray");
    CHECK(p.actions[0].start_time == 1042);
    CHECK(to_string(p.actions[1]) == "start machine=bottle-a");
  }
  SECTION("the row's new pid is another confined VM of this machine") {
    o.vm = running_vm(43, Policy::of(kOwn));
    in.observed["bottle-a"] = o;
    CHECK(plan_of(in) == Strings{R"(record-verified machine=bottle-a allowlist=["127.0.0.16/32"] pid=43)",
                                 "kill machine=bottle-a pid=42 reason=stray"});
  }
}
