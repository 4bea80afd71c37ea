// The planner when a bottle's spec goes away (CONTRACT.md §6.7), while it is held (the removal
// grace, a spec folder that cannot be read), when it never was valid, and for machines that are
// not the bottle's own.
#include <catch2/catch.hpp>

#include "plan_world.h"

using namespace bs;
using namespace bs::test;
using namespace std::chrono_literals;

TEST_CASE("planner: removal with on_remove = delete", "[reconcile][plan]") {
  BottleInput in = managed_bottle();
  in.removed = true;
  SECTION("running: stop, then delete") {
    in.observed["bottle-a"] = ok_row(Policy::of(kOwn), running_vm(42, Policy::of(kOwn)));
    CHECK(plan_of(in) == Strings{"stop machine=bottle-a", "delete machine=bottle-a"});
  }
  SECTION("deleted: forget the machine and release the lease") {
    in.observed["bottle-a"] = MachineObservation{};
    CHECK(plan_of(in) == Strings{"forget machine=bottle-a", "release-lease"});
  }
}

TEST_CASE("planner: a spec absent within the removal grace is held: nothing begun, confinement kept",
          "[reconcile][plan]") {
  SECTION("a new bottle gets no lease") {
    BottleInput in;
    in.name = "a";
    in.spec = plain_spec();
    in.absent = true;
    in.now = kPlanNow;
    CHECK(plan_of(in).empty());
  }
  SECTION("a leased bottle gets no machine") {
    BottleInput in;
    in.name = "a";
    in.spec = plain_spec();
    in.absent = true;
    in.lease = ip("127.0.0.16");
    in.observed["bottle-a"] = MachineObservation{};
    CHECK(plan_of(in).empty());
  }
  SECTION("a stopped VM is not started, but its row is still confined") {
    BottleInput in = managed_bottle();
    in.absent = true;
    in.observed["bottle-a"] = ok_row(Policy::unrestricted());
    CHECK(plan_of(in) == Strings{R"(patch machine=bottle-a allowlist=["127.0.0.16/32"])"});
  }
  SECTION("a drifted VM is still killed at once, and not started again") {
    BottleInput in = managed_bottle();
    in.absent = true;
    in.verified["bottle-a"] = Verified{42, 1042, kOwn};
    in.observed["bottle-a"] = ok_row(Policy::of(kOwn), running_vm(42, Policy::unrestricted()));
    CHECK(plan_of(in) == Strings{"kill machine=bottle-a pid=42 reason=drift"});
  }
  SECTION("a confined running VM is left as it is") {
    BottleInput in = managed_bottle();
    in.absent = true;
    in.verified["bottle-a"] = Verified{42, 1042, kOwn};
    in.observed["bottle-a"] = ok_row(Policy::of(kOwn), running_vm(42, Policy::of(kOwn)));
    CHECK(plan_of(in).empty());
  }
  SECTION("once the grace has passed, the removal goes ahead") {
    BottleInput in = managed_bottle();
    in.absent = true;
    in.removed = true;
    in.observed["bottle-a"] = ok_row(Policy::of(kOwn), running_vm(42, Policy::of(kOwn)));
    CHECK(plan_of(in) == Strings{"stop machine=bottle-a", "delete machine=bottle-a"});
  }
}

TEST_CASE("planner: removal with on_remove = keep quarantines", "[reconcile][plan]") {
  BottleSpec s = plain_spec();
  s.on_remove = OnRemove::Keep;
  BottleInput in = managed_bottle(s);
  in.removed = true;
  in.observed["bottle-a"] = ok_row(Policy::of(kOwn), running_vm(42, Policy::of(kOwn)));
  CHECK(plan_of(in) == Strings{"stop machine=bottle-a", "quarantine machine=bottle-a", "forget machine=bottle-a",
                               "release-lease"});
}

TEST_CASE("planner: machines we never managed are never touched", "[reconcile][plan]") {
  BottleInput in;
  in.name = "a";
  in.removed = true;
  in.lease = ip("127.0.0.16");
  in.now = kPlanNow;
  in.observed["someone-elses"] = ok_row(Policy::unrestricted(), running_vm(7, Policy::unrestricted()));
  CHECK(plan_of(in) == Strings{"release-lease"});
}

TEST_CASE("planner: a spec invalid while running keeps its last valid state", "[reconcile][plan]") {
  BottleInput in = managed_bottle();
  in.spec_error = "/specs/a.toml:3:8: cpus = 0 is out of range (1..64)";
  in.verified["bottle-a"] = Verified{42, 1042, kOwn};
  in.observed["bottle-a"] = ok_row(Policy::of(kOwn), running_vm(42, Policy::of(kOwn)));
  Plan p = plan_bottle(in);
  CHECK(p.actions.empty());  // not stopped, not killed
  REQUIRE(p.error);
  CHECK(*p.error == *in.spec_error);
}

TEST_CASE("planner: a spec never valid (e.g. a duplicate machine) creates nothing", "[reconcile][plan]") {
  BottleInput in;
  in.name = "b";
  in.spec_error = "machine 'bottle-a' is already used by /specs/a.toml";
  in.now = kPlanNow;
  in.observed["bottle-a"] = MachineObservation{};
  Plan p = plan_bottle(in);
  CHECK(p.actions.empty());
  CHECK(p.error == in.spec_error);
}

TEST_CASE("planner: a machine managed by another bottle is not created or adopted", "[reconcile][plan]") {
  BottleInput in;
  in.name = "b";
  in.spec = plain_spec("b");
  in.spec->machine = "shared";
  in.lease = ip("127.0.0.17");
  in.now = kPlanNow;
  in.machines_of_others = {"shared"};
  in.observed["shared"] = ok_row(Policy::unrestricted());
  Plan p = plan_bottle(in);
  CHECK(p.actions.empty());
  REQUIRE(p.error);
  CHECK(p.error->find("managed by another bottle") != std::string::npos);
}

TEST_CASE("planner: a spec folder that cannot be read or trusted holds the bottle", "[reconcile][plan]") {
  BottleInput in = managed_bottle();
  in.held = true;
  SECTION("nothing created or started") {
    in.observed["bottle-a"] = MachineObservation{};
    CHECK(plan_of(in).empty());
    in.observed["bottle-a"] = ok_row(Policy::of(kOwn));
    CHECK(plan_of(in).empty());
  }
  SECTION("nothing stopped or deleted, even when desired stopped") {
    in.spec->state = RunState::Stopped;
    in.observed["bottle-a"] = ok_row(Policy::of(kOwn), running_vm(42, Policy::of(kOwn)));
    in.verified["bottle-a"] = Verified{42, 1042, kOwn};
    CHECK(plan_of(in).empty());
  }
  SECTION("confinement still enforced") {
    in.observed["bottle-a"] = ok_row(Policy::unrestricted(), running_vm(42, Policy::unrestricted()));
    CHECK(plan_of(in) == Strings{"kill machine=bottle-a pid=42 reason=drift",
                                 R"(patch machine=bottle-a allowlist=["127.0.0.16/32"])"});
  }
}
