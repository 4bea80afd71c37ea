// The planner's table: one case per situation of CONTRACT.md §6, each asserting the exact
// action list (rendered with to_string(Action) so a failure shows the whole plan).
#include <catch2/catch.hpp>

#include "reconcile/plan.h"
#include "test_values.h"

using namespace bs;
using namespace std::chrono_literals;
using bs::test::ip;

namespace {

const TimePoint kNow = TimePoint{} + std::chrono::hours(100);

Allowlist allow(std::initializer_list<const char*> cidrs) {
  std::vector<Cidr> v;
  for (const char* c : cidrs) v.push_back(*parse_cidr(c));
  return make_allowlist(std::move(v));
}

BottleSpec spec(const std::string& name = "a") {
  BottleSpec s;
  s.name = name;
  s.path = "/specs/" + name + ".toml";
  s.machine = "bottle-" + name;
  s.image = "alpine:3.20";
  return s;
}

MachineObservation row(Policy allowed, std::optional<RunningVm> vm = std::nullopt) {
  MachineObservation o;
  o.row = MachineObservation::Row::Ok;
  o.allowed = std::move(allowed);
  o.network = true;
  o.vm = std::move(vm);
  return o;
}

RunningVm vm(std::int64_t pid, Policy booted) { return RunningVm{pid, 1000 + static_cast<std::uint64_t>(pid), std::move(booted)}; }

const Allowlist kOwn = allow({"127.0.0.16/32"});

// A bottle with lease .16, machine bottle-a managed (created), spec as given.
BottleInput managed_bottle(const BottleSpec& s = spec()) {
  BottleInput in;
  in.name = s.name;
  in.spec = s;
  in.lease = ip("127.0.0.16");
  in.managed.push_back(Managed{s.machine, false, s.on_remove, machine_fingerprint(s)});
  in.now = kNow;
  return in;
}

std::vector<std::string> plan_of(const BottleInput& in) {
  std::vector<std::string> out;
  for (const Action& a : plan_bottle(in).actions) out.push_back(to_string(a));
  return out;
}

using Strings = std::vector<std::string>;

}  // namespace

TEST_CASE("planner: a new bottle leases first, then creates with its allowlist", "[reconcile][plan]") {
  BottleInput in;
  in.name = "a";
  in.spec = spec();
  in.now = kNow;
  CHECK(plan_of(in) == Strings{"acquire-lease"});

  in.lease = ip("127.0.0.16");
  in.observed["bottle-a"] = MachineObservation{};  // row missing
  CHECK(plan_of(in) == Strings{R"(create machine=bottle-a allowlist=["127.0.0.16/32"])"});
}

TEST_CASE("planner: egress.allow joins the bottle's own /32, canonical", "[reconcile][plan]") {
  BottleSpec s = spec();
  s.egress_allow = allow({"10.1.2.3/8", "2001:db8::/32"});
  CHECK(to_string(desired_allowlist(s, ip("127.0.0.16"))) ==
        R"(["10.0.0.0/8", "127.0.0.16/32", "2001:db8::/32"])");
}

TEST_CASE("planner: a fixed loopback is leased as given", "[reconcile][plan]") {
  BottleInput in;
  in.name = "a";
  in.spec = spec();
  in.spec->loopback = ip("127.0.0.20");
  in.now = kNow;
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
  o.vm = vm(42, Policy::of(kOwn));
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
    in.observed["bottle-a"] = row(Policy::unrestricted());
    CHECK(plan_of(in) == Strings{R"(patch machine=bottle-a allowlist=["127.0.0.16/32"])", "start machine=bottle-a"});
  }
  SECTION("a wrong list is patched") {
    in.observed["bottle-a"] = row(Policy::of(allow({"0.0.0.0/0"})));
    CHECK(plan_of(in) == Strings{R"(patch machine=bottle-a allowlist=["127.0.0.16/32"])", "start machine=bottle-a"});
  }
  SECTION("[] (deny-all intent) is not our allowlist either") {
    in.observed["bottle-a"] = row(Policy::of({}));
    CHECK(plan_of(in).front().rfind("patch", 0) == 0);
  }
  SECTION("equal in another order is equal") {
    BottleSpec s = spec();
    s.egress_allow = allow({"10.0.0.0/8"});
    in = managed_bottle(s);
    auto stored = parse_allowlist({"10.0.0.0/8", "127.0.0.16/32", "127.0.0.16"});
    REQUIRE(stored);
    in.observed["bottle-a"] = row(Policy::of(*stored));
    CHECK(plan_of(in) == Strings{"start machine=bottle-a"});
  }
  SECTION("host bits set are masked before comparing") {
    BottleSpec s = spec();
    s.egress_allow = allow({"10.0.0.0/8"});
    in = managed_bottle(s);
    auto stored = parse_allowlist({"127.0.0.16/32", "10.9.9.9/8"});
    REQUIRE(stored);
    in.observed["bottle-a"] = row(Policy::of(*stored));
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
  in.observed["bottle-a"] = row(Policy::of(kOwn), vm(42, Policy::of(kOwn)));
  CHECK(plan_of(in) == Strings{R"(record-verified machine=bottle-a allowlist=["127.0.0.16/32"] pid=42)"});
  // Already recorded (e.g. after a supervisor restart): a healthy VM is not touched at all.
  in.verified["bottle-a"] = Verified{42, 1042, kOwn};
  CHECK(plan_of(in).empty());
  CHECK(plan_bottle(in).converged());
}

TEST_CASE("planner: booted policy differs -> drift kill, then confined start in the same plan", "[reconcile][plan]") {
  BottleInput in = managed_bottle();
  in.observed["bottle-a"] = row(Policy::of(kOwn), vm(42, Policy::unrestricted()));
  CHECK(plan_of(in) == Strings{"kill machine=bottle-a pid=42 reason=drift", "start machine=bottle-a"});
}

TEST_CASE("planner: booted policy unreadable -> unverifiable kill", "[reconcile][plan]") {
  BottleInput in = managed_bottle();
  in.observed["bottle-a"] = row(Policy::of(kOwn), vm(42, Policy::invalid("no boot-config.json")));
  CHECK(plan_of(in) == Strings{"kill machine=bottle-a pid=42 reason=unverifiable", "start machine=bottle-a"});
}

TEST_CASE("planner: a row pid reused by another process or a zombie is never signalled", "[reconcile][plan]") {
  BottleInput in = managed_bottle();
  MachineObservation o = row(Policy::of(kOwn));
  o.pid_note = GENERATE(as<std::string>{}, "pid 42 belongs to another process", "pid 42 is a zombie");
  in.observed["bottle-a"] = o;
  CHECK(plan_of(in) == Strings{"start machine=bottle-a"});
}

TEST_CASE("planner: null pid_start_time, command line names our boot-config -> it is our VM", "[reconcile][plan]") {
  // The observer applies the identity rule; the planner sees a running VM either way.
  BottleInput in = managed_bottle();
  in.verified["bottle-a"] = Verified{42, 1042, kOwn};
  in.observed["bottle-a"] = row(Policy::of(kOwn), vm(42, Policy::of(kOwn)));
  CHECK(plan_of(in).empty());
}

TEST_CASE("planner: the stale-copy stop rewrote the row -> re-patched, not started", "[reconcile][plan]") {
  BottleSpec s = spec();
  s.state = RunState::Stopped;
  BottleInput in = managed_bottle(s);
  in.observed["bottle-a"] = row(Policy::unrestricted());  // machine stop wrote its old snapshot
  CHECK(plan_of(in) == Strings{R"(patch machine=bottle-a allowlist=["127.0.0.16/32"])"});
}

TEST_CASE("planner: an existing machine not created by us is adopted", "[reconcile][plan]") {
  BottleInput in;
  in.name = "a";
  in.spec = spec();
  in.lease = ip("127.0.0.16");
  in.now = kNow;
  in.observed["bottle-a"] = row(Policy::unrestricted());
  CHECK(plan_of(in) == Strings{"adopt machine=bottle-a",
                               R"(patch machine=bottle-a allowlist=["127.0.0.16/32"])",
                               "start machine=bottle-a"});
}

TEST_CASE("planner: desired stopped and running confined -> stop", "[reconcile][plan]") {
  BottleSpec s = spec();
  s.state = RunState::Stopped;
  BottleInput in = managed_bottle(s);
  in.verified["bottle-a"] = Verified{42, 1042, kOwn};
  in.observed["bottle-a"] = row(Policy::of(kOwn), vm(42, Policy::of(kOwn)));
  CHECK(plan_of(in) == Strings{"stop machine=bottle-a"});
}

TEST_CASE("planner: removal with on_remove = delete", "[reconcile][plan]") {
  BottleInput in = managed_bottle();
  in.removed = true;
  SECTION("running: stop, then delete") {
    in.observed["bottle-a"] = row(Policy::of(kOwn), vm(42, Policy::of(kOwn)));
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
    in.spec = spec();
    in.absent = true;
    in.now = kNow;
    CHECK(plan_of(in).empty());
  }
  SECTION("a leased bottle gets no machine") {
    BottleInput in;
    in.name = "a";
    in.spec = spec();
    in.absent = true;
    in.lease = ip("127.0.0.16");
    in.observed["bottle-a"] = MachineObservation{};
    CHECK(plan_of(in).empty());
  }
  SECTION("a stopped VM is not started, but its row is still confined") {
    BottleInput in = managed_bottle();
    in.absent = true;
    in.observed["bottle-a"] = row(Policy::unrestricted());
    CHECK(plan_of(in) == Strings{R"(patch machine=bottle-a allowlist=["127.0.0.16/32"])"});
  }
  SECTION("a drifted VM is still killed at once, and not started again") {
    BottleInput in = managed_bottle();
    in.absent = true;
    in.verified["bottle-a"] = Verified{42, 1042, kOwn};
    in.observed["bottle-a"] = row(Policy::of(kOwn), vm(42, Policy::unrestricted()));
    CHECK(plan_of(in) == Strings{"kill machine=bottle-a pid=42 reason=drift"});
  }
  SECTION("a confined running VM is left as it is") {
    BottleInput in = managed_bottle();
    in.absent = true;
    in.verified["bottle-a"] = Verified{42, 1042, kOwn};
    in.observed["bottle-a"] = row(Policy::of(kOwn), vm(42, Policy::of(kOwn)));
    CHECK(plan_of(in).empty());
  }
  SECTION("once the grace has passed, the removal goes ahead") {
    BottleInput in = managed_bottle();
    in.absent = true;
    in.removed = true;
    in.observed["bottle-a"] = row(Policy::of(kOwn), vm(42, Policy::of(kOwn)));
    CHECK(plan_of(in) == Strings{"stop machine=bottle-a", "delete machine=bottle-a"});
  }
}

TEST_CASE("planner: removal with on_remove = keep quarantines", "[reconcile][plan]") {
  BottleSpec s = spec();
  s.on_remove = OnRemove::Keep;
  BottleInput in = managed_bottle(s);
  in.removed = true;
  in.observed["bottle-a"] = row(Policy::of(kOwn), vm(42, Policy::of(kOwn)));
  CHECK(plan_of(in) == Strings{"stop machine=bottle-a", "quarantine machine=bottle-a", "forget machine=bottle-a",
                               "release-lease"});
}

TEST_CASE("planner: machines we never managed are never touched", "[reconcile][plan]") {
  BottleInput in;
  in.name = "a";
  in.removed = true;
  in.lease = ip("127.0.0.16");
  in.now = kNow;
  in.observed["someone-elses"] = row(Policy::unrestricted(), vm(7, Policy::unrestricted()));
  CHECK(plan_of(in) == Strings{"release-lease"});
}

TEST_CASE("planner: a spec invalid while running keeps its last valid state", "[reconcile][plan]") {
  BottleInput in = managed_bottle();
  in.spec_error = "/specs/a.toml:3:8: cpus = 0 is out of range (1..64)";
  in.verified["bottle-a"] = Verified{42, 1042, kOwn};
  in.observed["bottle-a"] = row(Policy::of(kOwn), vm(42, Policy::of(kOwn)));
  Plan p = plan_bottle(in);
  CHECK(p.actions.empty());  // not stopped, not killed
  REQUIRE(p.error);
  CHECK(*p.error == *in.spec_error);
}

TEST_CASE("planner: a spec never valid (e.g. a duplicate machine) creates nothing", "[reconcile][plan]") {
  BottleInput in;
  in.name = "b";
  in.spec_error = "machine 'bottle-a' is already used by /specs/a.toml";
  in.now = kNow;
  in.observed["bottle-a"] = MachineObservation{};
  Plan p = plan_bottle(in);
  CHECK(p.actions.empty());
  CHECK(p.error == in.spec_error);
}

TEST_CASE("planner: a machine managed by another bottle is not created or adopted", "[reconcile][plan]") {
  BottleInput in;
  in.name = "b";
  in.spec = spec("b");
  in.spec->machine = "shared";
  in.lease = ip("127.0.0.17");
  in.now = kNow;
  in.machines_of_others = {"shared"};
  in.observed["shared"] = row(Policy::unrestricted());
  Plan p = plan_bottle(in);
  CHECK(p.actions.empty());
  REQUIRE(p.error);
  CHECK(p.error->find("managed by another bottle") != std::string::npos);
}

TEST_CASE("planner: spec edits (CONTRACT §3)", "[reconcile][plan]") {
  BottleSpec before = spec();
  BottleInput in = managed_bottle(before);
  in.verified["bottle-a"] = Verified{42, 1042, kOwn};
  in.observed["bottle-a"] = row(Policy::of(kOwn), vm(42, Policy::of(kOwn)));
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

TEST_CASE("planner: restart backoff after exits, and its reset", "[reconcile][plan]") {
  BottleInput in = managed_bottle();
  in.backoff_initial = 1000ms;
  in.backoff_max = 300000ms;
  in.observed["bottle-a"] = row(Policy::of(kOwn));

  SECTION("1st exit: restarted at once") {
    in.verified["bottle-a"] = Verified{42, 1042, kOwn};
    in.restarts.record_start(kNow - 1min);
    CHECK(plan_of(in) == Strings{"record-exit machine=bottle-a pid=42", "start machine=bottle-a"});
  }
  SECTION("5th exit within 10 minutes: waits initial * 2^3") {
    in.verified["bottle-a"] = Verified{42, 1042, kOwn};
    in.restarts.exits = 4;
    in.restarts.record_start(kNow - 1min);
    Plan p = plan_bottle(in);
    REQUIRE(p.actions.size() == 2);
    CHECK(p.actions[1].kind == Action::Kind::WaitUntil);
    CHECK(p.actions[1].not_before == kNow + 8s);
  }
  SECTION("20th exit: capped at backoff.max") {
    in.restarts.exits = 20;
    in.restarts.record_start(kNow - 2min);
    in.restarts.last_exit = kNow - 1min;
    in.restarts.start_unverified = false;  // that start's VM is the exit already recorded
    Plan p = plan_bottle(in);
    REQUIRE(p.actions.size() == 1);
    CHECK(p.actions[0].kind == Action::Kind::WaitUntil);
    CHECK(p.actions[0].not_before == kNow - 1min + 300s);
  }
  SECTION("10 minutes of stable running resets it") {
    in.verified["bottle-a"] = Verified{42, 1042, kOwn};
    in.restarts.exits = 7;
    in.restarts.record_start(kNow - 11min);
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
  in.restarts.record_start(kNow - 10s);
  in.restarts.last_exit = kNow - 5s;
  in.verified["bottle-a"] = Verified{42, 1042, kOwn};
  in.observed["bottle-a"] = row(Policy::of(kOwn), vm(43, Policy::unrestricted()));
  CHECK(plan_of(in) == Strings{"kill machine=bottle-a pid=43 reason=drift", "start machine=bottle-a"});

  // And after the kill was carried out (the supervisor records it), the next round starts too.
  in.restarts.record_kill(kNow);
  in.observed["bottle-a"] = row(Policy::of(kOwn));
  in.verified.clear();
  CHECK(plan_of(in) == Strings{"start machine=bottle-a"});
}

TEST_CASE("planner: stray _boot-vm processes of a managed machine are killed", "[reconcile][plan]") {
  BottleInput in = managed_bottle();
  in.verified["bottle-a"] = Verified{42, 1042, kOwn};
  in.observed["bottle-a"] = row(Policy::of(kOwn), vm(42, Policy::of(kOwn)));
  in.strays["bottle-a"] = {StrayVm{42, 1042}, StrayVm{77, 5000}};
  CHECK(plan_of(in) == Strings{"kill machine=bottle-a pid=77 reason=stray"});
}

TEST_CASE("planner: status assessment", "[reconcile][plan]") {
  MachineObservation missing;
  CHECK(to_string(assess(&missing, kOwn).actual) == "missing");
  CHECK(to_string(assess(&missing, kOwn).confinement) == "n/a");
  MachineObservation ok = row(Policy::of(kOwn), vm(1, Policy::of(kOwn)));
  CHECK(to_string(assess(&ok, kOwn).actual) == "running");
  CHECK(to_string(assess(&ok, kOwn).confinement) == "verified");
  MachineObservation drifted = row(Policy::of(kOwn), vm(1, Policy::unrestricted()));
  CHECK(to_string(assess(&drifted, kOwn).confinement) == "drifted");
  MachineObservation pending = row(Policy::unrestricted());
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
  o.vm = vm(42, Policy::of(kOwn));
  in.observed["bottle-a"] = o;
  CHECK(plan_of(in) == Strings{"kill machine=bottle-a pid=42 reason=unverifiable",
                               R"(create machine=bottle-a allowlist=["127.0.0.16/32"])"});
}

TEST_CASE("planner: the row names another pid while the VM we verified still runs -> a stray, not an exit",
          "[reconcile][plan]") {
  BottleInput in = managed_bottle();
  in.verified["bottle-a"] = Verified{42, 1042, kOwn};
  MachineObservation o = row(Policy::of(kOwn));
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
    o.vm = vm(43, Policy::of(kOwn));
    in.observed["bottle-a"] = o;
    CHECK(plan_of(in) == Strings{R"(record-verified machine=bottle-a allowlist=["127.0.0.16/32"] pid=43)",
                                 "kill machine=bottle-a pid=42 reason=stray"});
  }
}

// Every action carries what it was planned from: the executor records that, never the spec as it
// is when the action completes (an edit during a create must not be recorded as created).
TEST_CASE("planner: create, adopt and remember carry the shape and on_remove they were planned from",
          "[reconcile][plan]") {
  BottleSpec s = spec();
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
  in.now = kNow;
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
    in.observed["bottle-a"] = row(Policy::of(kOwn));
    Plan p = plan_bottle(in);
    REQUIRE(p.actions.size() == 2);
    CHECK(p.actions[0].kind == Action::Kind::Adopt);
    CHECK(p.actions[0].shape == want);
    CHECK(p.actions[0].on_remove == OnRemove::Keep);
    CHECK(to_string(p.actions[1]) == "start machine=bottle-a");
  }
  SECTION("remember: only on_remove changes") {
    in.managed.push_back(Managed{"bottle-a", false, OnRemove::Delete, machine_fingerprint(s)});
    in.observed["bottle-a"] = row(Policy::of(kOwn), vm(42, Policy::of(kOwn)));
    in.verified["bottle-a"] = Verified{42, 1042, kOwn};
    Plan p = plan_bottle(in);
    REQUIRE(p.actions.size() == 1);
    CHECK(p.actions[0].kind == Action::Kind::Remember);
    CHECK(p.actions[0].on_remove == OnRemove::Keep);
  }
}

TEST_CASE("planner: a shape edit recreates exactly once, then the bottle rests", "[reconcile][plan]") {
  BottleSpec before = spec();
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
  in.observed["bottle-a"] = row(Policy::of(kOwn), vm(42, Policy::of(kOwn)));

  // 1. Running with the old shape: stop, then delete (the executor re-plans after the stop).
  Plan p = plan_bottle(in);
  CHECK(plan_of(in) == Strings{"stop machine=bottle-a", "delete machine=bottle-a"});
  REQUIRE(p.actions.size() == 2);
  CHECK(p.actions[1].detail.find("recreate: ") == 0);
  CHECK(p.actions[1].detail.find(edit == "memory" ? "memory=" : edit + "=") != std::string::npos);
  // 2. Stopped: delete alone.
  in.verified.clear();
  in.observed["bottle-a"] = row(Policy::of(kOwn));
  CHECK(plan_of(in) == Strings{"delete machine=bottle-a"});
  // 3. Deleted (the record still names the old shape): created with the NEW shape.
  in.observed["bottle-a"] = MachineObservation{};
  p = plan_bottle(in);
  REQUIRE(p.actions.size() == 1);
  CHECK(p.actions[0].kind == Action::Kind::Create);
  CHECK(p.actions[0].shape == shape_of(after));
  // 4. Created and recorded with the action's shape: confined and started, no second delete.
  in.managed[0].fingerprint = machine_fingerprint(p.actions[0].shape);
  in.observed["bottle-a"] = row(Policy::of(kOwn));
  CHECK(plan_of(in) == Strings{"start machine=bottle-a"});
  // 5. Running and verified: nothing to do.
  in.observed["bottle-a"] = row(Policy::of(kOwn), vm(43, Policy::of(kOwn)));
  in.verified["bottle-a"] = Verified{43, 1043, kOwn};
  CHECK(plan_bottle(in).converged());
}

TEST_CASE("planner: a shape edit with on_remove = keep names the changed key and recreates nothing",
          "[reconcile][plan]") {
  BottleSpec before = spec();
  before.on_remove = OnRemove::Keep;
  BottleSpec after = before;
  after.cpus = 3;
  BottleInput in = managed_bottle(before);
  in.spec = after;
  in.verified["bottle-a"] = Verified{42, 1042, kOwn};
  in.observed["bottle-a"] = row(Policy::of(kOwn), vm(42, Policy::of(kOwn)));
  Plan p = plan_bottle(in);
  CHECK(p.actions.empty());  // left running: nothing is stopped or deleted
  REQUIRE(p.error);
  CHECK(p.error->find("cpus=1 -> cpus=3") != std::string::npos);
  CHECK(p.error->find("on_remove = \"keep\"") != std::string::npos);
  CHECK(p.error->find("smolvm machine delete --name bottle-a -f") != std::string::npos);
}

TEST_CASE("planner: a spec folder that cannot be read or trusted holds the bottle", "[reconcile][plan]") {
  BottleInput in = managed_bottle();
  in.held = true;
  SECTION("nothing created or started") {
    in.observed["bottle-a"] = MachineObservation{};
    CHECK(plan_of(in).empty());
    in.observed["bottle-a"] = row(Policy::of(kOwn));
    CHECK(plan_of(in).empty());
  }
  SECTION("nothing stopped or deleted, even when desired stopped") {
    in.spec->state = RunState::Stopped;
    in.observed["bottle-a"] = row(Policy::of(kOwn), vm(42, Policy::of(kOwn)));
    in.verified["bottle-a"] = Verified{42, 1042, kOwn};
    CHECK(plan_of(in).empty());
  }
  SECTION("confinement still enforced") {
    in.observed["bottle-a"] = row(Policy::unrestricted(), vm(42, Policy::unrestricted()));
    CHECK(plan_of(in) == Strings{"kill machine=bottle-a pid=42 reason=drift",
                                 R"(patch machine=bottle-a allowlist=["127.0.0.16/32"])"});
  }
}

TEST_CASE("planner: VMs we start that boot unconfined again and again are restarted with backoff",
          "[reconcile][plan]") {
  BottleInput in = managed_bottle();
  in.backoff_initial = 1000ms;
  in.backoff_max = 8000ms;
  // Our start's VM booted unrestricted although the row was verified: killed, restarted at once
  // (the desired allowlist may have changed while the start ran).
  in.restarts.record_start(kNow - 1s);
  in.observed["bottle-a"] = row(Policy::of(kOwn), vm(43, Policy::unrestricted()));
  CHECK(plan_of(in) == Strings{"kill machine=bottle-a pid=43 reason=drift", "start machine=bottle-a"});
  in.restarts.record_kill(kNow);
  CHECK(in.restarts.unconfined_starts == 1);

  // The restarted VM is unconfined too: the next start waits `initial`, then twice that.
  in.restarts.record_start(kNow);
  Plan p = plan_bottle(in);
  REQUIRE(p.actions.size() == 2);
  CHECK(to_string(p.actions[0]) == "kill machine=bottle-a pid=43 reason=drift");
  CHECK(p.actions[1].kind == Action::Kind::WaitUntil);
  CHECK(p.actions[1].not_before == kNow + 1000ms);
  in.restarts.record_kill(kNow);
  in.restarts.record_start(kNow + 1s);
  in.restarts.record_kill(kNow + 1s);
  in.observed["bottle-a"] = row(Policy::of(kOwn));
  in.now = kNow + 1s;
  p = plan_bottle(in);
  REQUIRE(p.actions.size() == 1);
  CHECK(p.actions[0].not_before == kNow + 1s + 2000ms);

  // A verified VM ends the run: the next drift kill restarts at once again.
  in.restarts.record_start(kNow + 4s);
  in.restarts.record_verified();
  CHECK(in.restarts.unconfined_starts == 0);
  in.now = kNow + 5s;
  in.restarts.record_kill(kNow + 5s);
  CHECK(plan_of(in) == Strings{"start machine=bottle-a"});
}
