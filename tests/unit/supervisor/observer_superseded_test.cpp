// observe_machine when the row's pid moves away from the VM the supervisor verified while that VM
// still runs: the old VM is reported as superseded (a stray of the machine), not as gone.
#include <catch2/catch.hpp>

#include "smolvm/paths.h"
#include "supervisor/observer.h"
#include "supervisor/vm_processes.h"
#include "support/forked_child.h"
#include "support/poll.h"
#include "unit/supervisor/cli_test_support.h"
#include "unit/supervisor/fake_vm.h"

using bs::supervisor::observe_machine;
using bs::supervisor::VmProcesses;
using bs::test::ForkedChild;
using bs::test::poll_until;
using namespace bs::vm_test;  // fake_vm, has_cmdline, smolvm_paths_under, snapshot_with_pid

using namespace std::chrono_literals;

TEST_CASE("observe_machine: the verified VM still runs but the row names another pid -> superseded",
          "[supervisor][observer]") {
  bs::cli_test::TempDir dir;
  const auto paths = smolvm_paths_under(dir.path());
  const std::string config = paths.boot_config("m1");
  bs::cli_test::write_file(config, R"({"resources":{"allowed_cidrs":["127.0.0.2/32"]}})");
  // argv exactly as smolvm's VM process (this test binary's `_boot-vm` mode, tests/main.cpp).
  ForkedChild old_vm = fake_vm(config);
  REQUIRE(poll_until([&] { return has_cmdline(old_vm.pid(), "_boot-vm"); }, 10s));
  VmProcesses procs;
  auto seen = procs.see(old_vm.pid(), false);
  REQUIRE(seen.stat);
  const bs::Verified verified{old_vm.pid(), seen.stat->start_time, {}};

  SECTION("the row's pid is not a VM") {
    auto obs = observe_machine("m1", snapshot_with_pid("m1", 1), paths, verified, procs);
    CHECK_FALSE(obs.vm);
    REQUIRE(obs.superseded);
    CHECK(obs.superseded->pid == old_vm.pid());
    CHECK(obs.superseded->start_time == seen.stat->start_time);
  }
  SECTION("the row names no pid: the verified VM is still this machine's VM, not a stray") {
    // smolvm rewrote the row (it believes the machine stopped) but never stopped the VM: killing
    // it would kill a confined VM over a row; it keeps being judged by what it booted with.
    auto obs = observe_machine("m1", snapshot_with_pid("m1", std::nullopt), paths, verified, procs);
    REQUIRE(obs.vm);
    CHECK(obs.vm->pid == old_vm.pid());
    CHECK_FALSE(obs.superseded);
  }
  SECTION("the row still names the verified VM: nothing superseded") {
    auto obs = observe_machine("m1", snapshot_with_pid("m1", old_vm.pid()), paths, verified, procs);
    REQUIRE(obs.vm);
    CHECK_FALSE(obs.superseded);
  }
  SECTION("the verified VM is gone: an exit, nothing superseded") {
    old_vm.release();
    old_vm.wait();
    auto obs = observe_machine("m1", snapshot_with_pid("m1", 1), paths, verified, procs);
    CHECK_FALSE(obs.superseded);
  }
}
