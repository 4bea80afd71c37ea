// The one drift classifier: judge_booted's table, and the promise that status's confinement and
// the kill path give the same answer for every running VM (a VM status calls drifted or
// unverifiable is killed; one it calls verified or pending is not).
#include <catch2/catch.hpp>

#include "plan_world.h"
#include "reconcile/booted_verdict.h"
#include "reconcile/plan.h"

namespace bs {
namespace {

RunningVm vm_booted(Policy booted) {
  RunningVm vm;
  vm.pid = 7;
  vm.start_time = 700;
  vm.booted = std::move(booted);
  return vm;
}

}  // namespace

TEST_CASE("judge_booted: confined, pending, drifted, unverifiable", "[reconcile][booted]") {
  const Allowlist own = test::allow({"127.0.0.16/32"});
  const Allowlist wider = test::allow({"127.0.0.16/32", "10.0.0.0/8"});
  struct Row {
    Policy booted;
    std::optional<Allowlist> desired;
    BootedVerdict want;
    const char* detail_has;
  };
  const std::vector<Row> table = {
      {Policy::of(own), own, BootedVerdict::Confined, "booted with"},
      {Policy::of(wider), own, BootedVerdict::Drifted, "desired"},
      {Policy::unrestricted(), own, BootedVerdict::Drifted, "booted with"},
      {Policy::pending("no agent.pid yet"), own, BootedVerdict::Pending, "no agent.pid yet"},
      {Policy::invalid("cannot read agent.config.json"), own, BootedVerdict::Unverifiable, "cannot read"},
      // No lease: nothing says what the VM may reach, whatever it booted with.
      {Policy::of(own), std::nullopt, BootedVerdict::Unverifiable, "no desired allowlist"},
      {Policy::pending("soon"), std::nullopt, BootedVerdict::Unverifiable, "no desired allowlist"},
  };
  for (const Row& r : table) {
    BootedJudgement j = judge_booted(vm_booted(r.booted), r.desired);
    INFO("booted " << r.booted.str() << " -> " << to_string(j.verdict) << ": " << j.detail);
    CHECK(j.verdict == r.want);
    CHECK(j.detail.find("pid 7") == 0);
    CHECK(j.detail.find(r.detail_has) != std::string::npos);
  }
}

TEST_CASE("status's confinement and the kill path agree on every running VM", "[reconcile][booted]") {
  const Allowlist own = test::allow({"127.0.0.16/32"});
  const Allowlist wider = test::allow({"127.0.0.16/32", "10.0.0.0/8"});
  const std::vector<Policy> booted = {Policy::of(own), Policy::of(wider), Policy::unrestricted(),
                                      Policy::pending("starting"), Policy::invalid("unreadable")};
  const std::vector<Policy> rows = {Policy::of(own), Policy::of(wider), Policy::unrestricted()};
  const std::vector<std::optional<Allowlist>> desires = {own, std::nullopt};
  int cases = 0;
  for (const Policy& b : booted) {
    for (const Policy& row : rows) {
      for (const auto& desired : desires) {
        MachineObservation obs = test::ok_row(row, vm_booted(b));
        const Assessment as = assess(&obs, desired);
        const std::optional<Action> kill = drift_kill("bottle-a", obs, desired);
        INFO("booted " << b.str() << ", row " << row.str() << ", desired "
                       << (desired ? to_string(*desired) : std::string("none")) << ": status "
                       << to_string(as.confinement) << ", kill " << (kill ? to_string(*kill) : std::string("none")));
        CHECK(as.actual == Actual::Running);
        switch (as.confinement) {
          case Confinement::Drifted:
            REQUIRE(kill);
            CHECK(kill->reason == KillReason::Drift);
            break;
          case Confinement::Unverifiable:
            REQUIRE(kill);
            CHECK(kill->reason == KillReason::Unverifiable);
            break;
          case Confinement::Verified:
          case Confinement::Pending: CHECK_FALSE(kill); break;
          case Confinement::NotApplicable: FAIL("a running VM's confinement is never n/a"); break;
        }
        // Verified needs both the booted policy and the row: a confined VM over a wider row is
        // pending (the row is patched next), never verified.
        if (as.confinement == Confinement::Verified) CHECK((b.equals(own) && row.equals(own) && desired));
        ++cases;
      }
    }
  }
  CHECK(cases == 30);
}

}  // namespace bs
