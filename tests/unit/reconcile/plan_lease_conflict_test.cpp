// The planner refuses to start a bottle whose address a machine outside the specs also allows.
#include <catch2/catch.hpp>

#include "reconcile/plan.h"
#include "test_values.h"

using namespace bs;
using bs::test::ip;

namespace {

BottleInput stopped_bottle() {
  BottleSpec s;
  s.name = "a";
  s.path = "/specs/a.toml";
  s.machine = "bottle-a";
  s.image = "alpine:3.20";
  BottleInput in;
  in.name = "a";
  in.spec = s;
  in.lease = ip("127.0.0.16");
  in.managed.push_back(Managed{s.machine, false, s.on_remove, machine_fingerprint(s)});
  MachineObservation o;
  o.row = MachineObservation::Row::Ok;
  o.allowed = Policy::of(Allowlist{host_cidr(ip("127.0.0.16"))});
  o.network = true;
  in.observed["bottle-a"] = o;
  in.now = TimePoint{} + std::chrono::hours(1);
  return in;
}

std::vector<std::string> kinds(const Plan& p) {
  std::vector<std::string> out;
  for (const Action& a : p.actions) out.push_back(to_string(a));
  return out;
}

}  // namespace

TEST_CASE("planner: no start on an address a machine outside the specs allows", "[reconcile][plan][guard]") {
  BottleInput in = stopped_bottle();
  REQUIRE(kinds(plan_bottle(in)) == std::vector<std::string>{"start machine=bottle-a"});

  in.lease_conflicts.push_back(LeaseConflict{"bot-bottle-x", "a", ip("127.0.0.16")});
  Plan p = plan_bottle(in);
  CHECK(p.actions.empty());
  REQUIRE(p.error);
  CHECK(*p.error == "not started: address 127.0.0.16 is also in the allowlist of machine 'bot-bottle-x', "
                    "which no spec manages");
}

TEST_CASE("planner: a lease conflict does not stop a VM already running confined", "[reconcile][plan][guard]") {
  BottleInput in = stopped_bottle();
  in.observed["bottle-a"].vm = RunningVm{77, 1, Policy::of(Allowlist{host_cidr(ip("127.0.0.16"))}), 0};
  in.verified["bottle-a"] = Verified{77, 1, Allowlist{host_cidr(ip("127.0.0.16"))}};
  in.lease_conflicts.push_back(LeaseConflict{"bot-bottle-x", "a", ip("127.0.0.16")});
  CHECK(plan_bottle(in).actions.empty());
}
