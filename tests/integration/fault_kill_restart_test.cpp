// The supervisor SIGKILLed at random points of its work, again and again: nothing it keeps may be
// left half-done in a way that matters (CONTRACT §5 leases, §6 confinement, §9 the audit log).
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "fault_support.h"

using namespace bs::integ;

namespace {

const std::vector<std::string> kBottles = {"k1", "k2", "k3", "k4", "k5"};
const std::vector<std::string> kAllows = {"", "\"10.0.0.0/8\"", "\"192.168.0.0/16\", \"10.1.0.0/16\"",
                                          "\"172.16.0.0/12\""};

std::string kill_spec(std::size_t allow, bool running) {
  return spec_toml(std::string("state = \"") + (running ? "running" : "stopped") + "\"\n[egress]\nallow = [" +
                   kAllows[allow] + "]");
}

// A daemon killed between fork and exec of a smolvm command leaves a child still running the
// daemon's image and sharing its open files, the single-instance lock among them (O_CLOEXEC acts
// at exec only). Until it execs, a new `run` is refused with "already running (pid <the dead
// daemon>)"; the test waits that instant out (it is what a service manager's restart delay does).
// Such children are ours once the daemon dies: we are the subreaper.
std::vector<std::int64_t> lock_inheritors(const TempHome&) {
  std::vector<std::int64_t> out;
  for (std::int64_t pid : children_of(::getpid())) {
    std::error_code ec;
    if (std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec) == kSupervisorBin) {
      out.push_back(pid);
    }
  }
  return out;
}

std::uint32_t seed_for_run() {
  if (const char* s = std::getenv("BS_FAULT_SEED")) return static_cast<std::uint32_t>(std::strtoul(s, nullptr, 10));
  return std::random_device{}();
}

}  // namespace

TEST_CASE("fault: SIGKILLed 50 times mid-work, the supervisor converges with leases, log and VMs intact",
          "[integration][fault]") {
  const std::uint32_t seed = seed_for_run();
  WARN("BS_FAULT_SEED=" << seed << " reproduces this run's kill points and edits");
  std::mt19937 rng(seed);
  auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };

  ConfigOptions cfg;
  cfg.resync_interval = "1s";
  TempHome h(cfg);
  std::map<std::string, std::pair<std::size_t, bool>> desired;  // bottle -> (allow index, running)
  for (const auto& name : kBottles) desired[name] = {pick(kAllows.size()), name != "k3"};
  for (const auto& [name, d] : desired) h.write_spec(name, kill_spec(d.first, d.second));

  const auto started = Clock::now();
  int kills_with_smolvm_in_flight = 0, kills_leaving_a_forked_child = 0, rounds_with_a_second_vm = 0;
  for (int round = 0; round < 50; ++round) {
    // Edit between kills: a new allowlist (re-patch, drift-kill, confined restart) or a new state.
    for (std::size_t edits = 1 + pick(3); edits > 0; --edits) {
      auto& d = desired[kBottles[pick(kBottles.size())]];
      if (pick(4) == 0) {
        d.second = !d.second;
      } else {
        d.first = pick(kAllows.size());
      }
    }
    for (const auto& [name, d] : desired) h.write_spec(name, kill_spec(d.first, d.second));

    Daemon d(h);
    // The kill point: a random moment of the daemon's first 300 ms, not a synchronisation.
    observe_for(Ms(std::uniform_int_distribution<int>(0, 300)(rng)));
    if (!children_with(d.pid(), "machine").empty()) ++kills_with_smolvm_in_flight;
    d.signal(SIGKILL);
    REQUIRE(d.wait_exit(Ms(5000)) == 128 + SIGKILL);
    if (!lock_inheritors(h).empty()) ++kills_leaving_a_forked_child;
    h.wait_until("the killed daemon's forked children to exec or exit (they share its lock)",
                 [&] { return lock_inheritors(h).empty(); });

    // Mid-way, two VMs for one machine can exist: an orphaned `machine start` whose pid a later
    // stale-copy `machine stop` wiped from the row leaves a stray that only a full resync finds,
    // and a daemon killed within 300 ms may never get there. Counted, asserted only at the end.
    std::map<std::string, int> per_machine;
    for (const BootVm& vm : boot_vms(h)) {
      if (++per_machine[vm.machine] == 2) ++rounds_with_a_second_vm;
    }
  }
  print_metric("kill_loop_ms", elapsed_ms(started));
  print_metric("kills_with_smolvm_command_in_flight", kills_with_smolvm_in_flight);
  print_metric("kills_leaving_a_forked_child", kills_leaving_a_forked_child);
  print_metric("rounds_with_a_second_vm_for_a_machine", rounds_with_a_second_vm);
  CHECK(kills_with_smolvm_in_flight > 0);  // else the kills never hit the interesting part

  Daemon daemon(h);
  daemon.wait_answering();
  const auto recovering = Clock::now();
  h.wait_until("every bottle converged after the last kill",
               [&] { return all_converged(h.status(), kBottles); }, Ms(30000));
  print_metric("converge_after_last_kill_ms", elapsed_ms(recovering));
  // A VM that a killed daemon's orphaned `machine start` booted after a later `machine stop` took
  // its stale snapshot is in no row: a stray, which only a full resync finds (CONTRACT §6 step 8).
  // So one full pass, then the end state.
  RunResult pass = h.cli({"reconcile"});
  INFO(pass.describe());
  CHECK(pass.exit_code == 0);
  h.wait_until("every bottle converged after a full pass",
               [&] { return all_converged(h.status(), kBottles); }, Ms(30000));
  Status st = h.status();
  CHECK(st.exit_code == 0);
  print_metric("stray_kills", static_cast<long long>(h.events("stray-killed").size()));

  // Leases: exactly one per bottle, no address twice, each the address status shows.
  StateSnapshot state = read_state(h);
  std::map<std::string, std::string> lease_of = lease_of_each_bottle(state);
  CHECK(lease_of.size() == kBottles.size());
  for (const auto& name : kBottles) {
    INFO("bottle " << name);
    REQUIRE(lease_of.count(name) == 1);
    CHECK(st.bottle(name)["address"] == lease_of[name]);
  }

  // No lease lost: none was ever released, and each bottle still has the address it first got.
  for (const auto& e : state.events) {
    CHECK(e.kind != "lease-released");
    if (e.kind == "lease-acquired") CHECK(e.detail == lease_of[e.bottle]);
  }

  // The event log: ids only grow, `events --json` parses line by line, the file is sound.
  for (std::size_t i = 1; i < state.events.size(); ++i) CHECK(state.events[i - 1].id < state.events[i].id);
  CHECK(h.events().size() == state.events.size());
  CHECK(integrity_check(state_db_path(h)) == "ok");
  CHECK(integrity_check(h.db_path()) == "ok");

  // What runs: one VM per running bottle, booted with exactly its desired allowlist; none else.
  std::map<std::string, int> vms_of;
  for (const BootVm& vm : boot_vms(h)) {
    INFO("VM pid " << vm.pid << " of machine '" << vm.machine << "'");
    REQUIRE(vm.machine.rfind("bottle-", 0) == 0);
    const std::string bottle = vm.machine.substr(7);
    ++vms_of[bottle];
    Json b = st.bottle(bottle);
    REQUIRE(b.is_object());
    CHECK(b["desired"] == "running");
    CHECK(b["pid"] == vm.pid);
    REQUIRE(vm.policy);
    CHECK(*vm.policy == b["allowlist"]);
  }
  for (const auto& [name, d] : desired) {
    INFO("bottle " << name);
    CHECK(vms_of[name] == (d.second ? 1 : 0));
    Json b = st.bottle(name);
    CHECK(b["desired"] == (d.second ? "running" : "stopped"));
    // The spec's last edit is what the bottle converged to: its address/32 plus the allow list.
    std::set<std::string> expected = {lease_of[name] + "/32"};
    for (const auto& cidr : Json::parse("[" + kAllows[d.first] + "]")) expected.insert(cidr.get<std::string>());
    CHECK(b["allowlist"].get<std::set<std::string>>() == expected);
  }
}
