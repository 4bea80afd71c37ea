// The planner after spec edits (CONTRACT.md §3): what each key's change does to the machine, and
// that every action carries what it was planned from.
#include <catch2/catch.hpp>

#include "plan_world.h"

using namespace bs;
using namespace bs::test;
using namespace std::chrono_literals;

TEST_CASE("planner: spec edits (CONTRACT §3)", "[reconcile][plan]") {
  BottleSpec before = plain_spec();
  BottleInput in = managed_bottle(before);
  in.verified["bottle-a"] = Verified{42, 1042, kOwn};
  in.observed["bottle-a"] = ok_row(Policy::of(kOwn), running_vm(42, Policy::of(kOwn)));
  BottleSpec after = before;

  SECTION("egress.allow: re-patch, drift-kill the old VM, restart confined") {
    after.egress_allow = allow({"10.0.0.0/8"});
    in.spec = after;
    CHECK(plan_of(in) == Strings{"kill machine=bottle-a pid=42 reason=drift",
                                 R"(patch machine=bottle-a allowlist=["10.0.0.0/8", "127.0.0.16/32"])",
                                 "start machine=bottle-a"});
  }
  SECTION("loopback: the lease moves first") {
    after.loopback = ip("127.0.0.20");
    in.spec = after;
    CHECK(plan_of(in) == Strings{"acquire-lease address=127.0.0.20"});
  }
  SECTION("state: stop") {
    after.state = RunState::Stopped;
    in.spec = after;
    CHECK(plan_of(in) == Strings{"stop machine=bottle-a"});
  }
  SECTION("machine: the old one is removed, the new one created, the lease kept") {
    after.machine = "renamed";
    in.spec = after;
    in.observed["renamed"] = MachineObservation{};
    CHECK(plan_of(in) == Strings{"stop machine=bottle-a", "delete machine=bottle-a",
                                 R"(create machine=renamed allowlist=["127.0.0.16/32"])"});
  }
  SECTION("image with on_remove = delete: recreate") {
    after.image = "alpine:3.21";
    in.spec = after;
    CHECK(plan_of(in) == Strings{"stop machine=bottle-a", "delete machine=bottle-a"});
    // ... and once deleted, it is created again with the new image.
    in.observed["bottle-a"] = MachineObservation{};
    CHECK(plan_of(in) == Strings{R"(create machine=bottle-a allowlist=["127.0.0.16/32"])"});
  }
  SECTION("cpus and memory likewise") {
    after.cpus = 2;
    after.memory_mib = 1024;
    in.spec = after;
    CHECK(plan_of(in) == Strings{"stop machine=bottle-a", "delete machine=bottle-a"});
  }
  SECTION("image with on_remove = keep: nothing recreated, an error saying how") {
    after.image = "alpine:3.21";
    after.on_remove = OnRemove::Keep;
    in.spec = after;
    in.managed[0].on_remove = OnRemove::Keep;
    Plan p = plan_bottle(in);
    CHECK(p.actions.empty());
    REQUIRE(p.error);
    CHECK(p.error->find("image=alpine:3.20 -> image=alpine:3.21") != std::string::npos);
    CHECK(p.error->find("smolvm machine delete --name bottle-a -f") != std::string::npos);
  }
  SECTION("on_remove: remembered for the removal") {
    after.on_remove = OnRemove::Keep;
    in.spec = after;
    CHECK(plan_of(in) == Strings{"remember machine=bottle-a"});
  }
}

// Every action carries what it was planned from: the executor records that, never the spec as it
// is when the action completes (an edit during a create must not be recorded as created).
TEST_CASE("planner: create, adopt and remember carry the shape and on_remove they were planned from",
          "[reconcile][plan]") {
  BottleSpec s = plain_spec();
  s.cpus = 2;
  s.memory_mib = 1024;
  s.on_remove = OnRemove::Keep;
  const MachineShape want{std::string("alpine:3.20"), std::nullopt, 2, 1024};
  CHECK(shape_of(s) == want);
  CHECK(machine_fingerprint(want) == machine_fingerprint(s));

  BottleInput in;
  in.name = "a";
  in.spec = s;
  in.lease = ip("127.0.0.16");
  in.now = kPlanNow;
  SECTION("create") {
    in.observed["bottle-a"] = MachineObservation{};
    Plan p = plan_bottle(in);
    REQUIRE(p.actions.size() == 1);
    CHECK(p.actions[0].kind == Action::Kind::Create);
    CHECK(p.actions[0].shape == want);
    CHECK(p.actions[0].on_remove == OnRemove::Keep);
    CHECK(p.actions[0].allowlist == kOwn);
  }
  SECTION("adopt: a machine that exists and is not ours is the planner's decision") {
    in.observed["bottle-a"] = ok_row(Policy::of(kOwn));
    Plan p = plan_bottle(in);
    REQUIRE(p.actions.size() == 2);
    CHECK(p.actions[0].kind == Action::Kind::Adopt);
    CHECK(p.actions[0].shape == want);
    CHECK(p.actions[0].on_remove == OnRemove::Keep);
    CHECK(to_string(p.actions[1]) == "start machine=bottle-a");
  }
  SECTION("remember: only on_remove changes") {
    in.managed.push_back(Managed{"bottle-a", false, OnRemove::Delete, machine_fingerprint(s)});
    in.observed["bottle-a"] = ok_row(Policy::of(kOwn), running_vm(42, Policy::of(kOwn)));
    in.verified["bottle-a"] = Verified{42, 1042, kOwn};
    Plan p = plan_bottle(in);
    REQUIRE(p.actions.size() == 1);
    CHECK(p.actions[0].kind == Action::Kind::Remember);
    CHECK(p.actions[0].on_remove == OnRemove::Keep);
  }
}

TEST_CASE("planner: a shape edit recreates exactly once, then the bottle rests", "[reconcile][plan]") {
  BottleSpec before = plain_spec();
  BottleSpec after = before;
  auto edit = GENERATE(as<std::string>{}, "cpus", "memory", "image", "from");
  if (edit == "cpus") after.cpus = 4;
  if (edit == "memory") after.memory_mib = 2048;
  if (edit == "image") after.image = "alpine:3.21";
  if (edit == "from") {
    after.image.reset();
    after.from = "/abs/agent.smolmachine";
  }
  CAPTURE(edit);
  BottleInput in = managed_bottle(before);
  in.spec = after;
  in.verified["bottle-a"] = Verified{42, 1042, kOwn};
  in.observed["bottle-a"] = ok_row(Policy::of(kOwn), running_vm(42, Policy::of(kOwn)));

  // 1. Running with the old shape: stop, then delete (the executor re-plans after the stop).
  Plan p = plan_bottle(in);
  CHECK(plan_of(in) == Strings{"stop machine=bottle-a", "delete machine=bottle-a"});
  REQUIRE(p.actions.size() == 2);
  CHECK(p.actions[1].detail.find("recreate: ") == 0);
  CHECK(p.actions[1].detail.find(edit == "memory" ? "memory=" : edit + "=") != std::string::npos);
  // 2. Stopped: delete alone.
  in.verified.clear();
  in.observed["bottle-a"] = ok_row(Policy::of(kOwn));
  CHECK(plan_of(in) == Strings{"delete machine=bottle-a"});
  // 3. Deleted (the record still names the old shape): created with the NEW shape.
  in.observed["bottle-a"] = MachineObservation{};
  p = plan_bottle(in);
  REQUIRE(p.actions.size() == 1);
  CHECK(p.actions[0].kind == Action::Kind::Create);
  CHECK(p.actions[0].shape == shape_of(after));
  // 4. Created and recorded with the action's shape: confined and started, no second delete.
  in.managed[0].fingerprint = machine_fingerprint(p.actions[0].shape);
  in.observed["bottle-a"] = ok_row(Policy::of(kOwn));
  CHECK(plan_of(in) == Strings{"start machine=bottle-a"});
  // 5. Running and verified: nothing to do.
  in.observed["bottle-a"] = ok_row(Policy::of(kOwn), running_vm(43, Policy::of(kOwn)));
  in.verified["bottle-a"] = Verified{43, 1043, kOwn};
  CHECK(plan_bottle(in).converged());
}

TEST_CASE("planner: a shape edit with on_remove = keep names the changed key and recreates nothing",
          "[reconcile][plan]") {
  BottleSpec before = plain_spec();
  before.on_remove = OnRemove::Keep;
  BottleSpec after = before;
  after.cpus = 3;
  BottleInput in = managed_bottle(before);
  in.spec = after;
  in.verified["bottle-a"] = Verified{42, 1042, kOwn};
  in.observed["bottle-a"] = ok_row(Policy::of(kOwn), running_vm(42, Policy::of(kOwn)));
  Plan p = plan_bottle(in);
  CHECK(p.actions.empty());  // left running: nothing is stopped or deleted
  REQUIRE(p.error);
  CHECK(p.error->find("cpus=1 -> cpus=3") != std::string::npos);
  CHECK(p.error->find("on_remove = \"keep\"") != std::string::npos);
  CHECK(p.error->find("smolvm machine delete --name bottle-a -f") != std::string::npos);
}
