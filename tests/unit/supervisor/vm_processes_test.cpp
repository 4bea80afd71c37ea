// VmProcesses (what /proc said about a VM, kept while a pidfd shows it alive) and the stray scan
// built on it. The "VMs" are shells whose command line has smolvm's `_boot-vm <boot-config>`
// shape; every process signalled here is this test's own unreaped child.
#include <catch2/catch.hpp>

#include "smolvm/paths.h"
#include "supervisor/observer.h"
#include "supervisor/vm_processes.h"
#include "unit/platform/child.h"
#include "unit/supervisor/cli_test_support.h"

using bs::Policy;
using bs::platform::test::Child;
using bs::platform::test::eventually;
using bs::supervisor::find_strays;
using bs::supervisor::VmProcesses;

namespace {

// `sh -c 'read x' _boot-vm <config>`: argv holds "_boot-vm <config>" as smolvm's does; it runs
// until released.
Child fake_vm(const std::string& boot_config) {
  return Child::exec({"/bin/sh", "-c", "read x", "_boot-vm", boot_config});
}

bool has_cmdline(pid_t pid, const std::string& needle) {
  auto c = bs::platform::read_cmdline(pid);
  return c && c->find(needle) != std::string::npos;
}

bs::smolvm::Paths paths_under(const std::string& dir) {
  bs::smolvm::Paths p;
  p.data_root = dir;
  p.server_dir = dir + "/smolvm/server";
  p.db = p.server_dir + "/smolvm.db";
  p.vms_dir = dir + "/smolvm/vms";
  return p;
}

const char* kConfined = R"({"resources":{"allowed_cidrs":["127.0.0.2/32"]}})";
const char* kOpen = R"({"resources":{"allowed_cidrs":null}})";

}  // namespace

TEST_CASE("VmProcesses keeps a live VM's readings and booted policy, and forgets it when it exits",
          "[supervisor][vm_processes]") {
  bs::cli_test::TempDir dir;
  const auto paths = paths_under(dir.path());
  const std::string config = paths.boot_config("m1");
  bs::cli_test::write_file(config, kConfined);
  Child vm = fake_vm(config);
  REQUIRE(eventually([&] { return has_cmdline(vm.pid(), "_boot-vm"); }));

  VmProcesses procs;
  auto seen = procs.see(vm.pid());
  REQUIRE(seen.stat);
  REQUIRE(seen.cmdline);
  CHECK(procs.size() == 1);
  Policy booted = procs.booted_policy(vm.pid(), seen);
  REQUIRE(booted.kind == Policy::Kind::List);
  CHECK(booted.str() == R"(["127.0.0.2/32"])");

  SECTION("the policy it booted with stands while it lives, whatever the file says later") {
    bs::cli_test::write_file(config, kOpen);
    auto again = procs.see(vm.pid());
    REQUIRE(again.stat);
    CHECK(again.stat->start_time == seen.stat->start_time);
    CHECK(procs.booted_policy(vm.pid(), again).str() == R"(["127.0.0.2/32"])");
    REQUIRE(procs.remembered(vm.pid()) != nullptr);
  }

  SECTION("an exited VM (a zombie here) is forgotten and read afresh") {
    vm.release();
    REQUIRE(eventually([&] { return vm.exited_unreaped(); }));
    CHECK(procs.remembered(vm.pid()) != nullptr);  // found alive earlier in this loop iteration
    procs.new_tick();
    CHECK(procs.remembered(vm.pid()) == nullptr);
    CHECK(procs.size() == 0);
    auto after = procs.see(vm.pid());
    REQUIRE(after.stat);
    CHECK(after.stat->state == 'Z');
    CHECK(procs.size() == 0);  // a zombie is never remembered
    vm.wait();
    CHECK_FALSE(procs.see(vm.pid()).stat);
  }

  SECTION("forget drops a process at once, even within the tick it was found alive in") {
    procs.forget(vm.pid());
    CHECK(procs.remembered(vm.pid()) == nullptr);
    CHECK(procs.size() == 0);
  }

  SECTION("forget_exited drops exited processes") {
    vm.release();
    REQUIRE(eventually([&] { return vm.exited_unreaped(); }));
    procs.forget_exited();
    CHECK(procs.size() == 0);
  }
}

TEST_CASE("VmProcesses reads every time what it is not asked to remember", "[supervisor][vm_processes]") {
  bs::cli_test::TempDir dir;
  const std::string config = paths_under(dir.path()).boot_config("m1");
  bs::cli_test::write_file(config, kConfined);
  Child vm = fake_vm(config);
  REQUIRE(eventually([&] { return has_cmdline(vm.pid(), "_boot-vm"); }));

  VmProcesses procs;
  auto seen = procs.see(vm.pid(), false);
  REQUIRE(seen.stat);
  CHECK(procs.size() == 0);
  CHECK(procs.booted_policy(vm.pid(), seen).str() == R"(["127.0.0.2/32"])");
  bs::cli_test::write_file(config, kOpen);
  CHECK(procs.booted_policy(vm.pid(), seen).str() == "null (unrestricted)");
  CHECK_FALSE(procs.see(-1).stat);
}

TEST_CASE("find_strays reports _boot-vm processes naming a managed machine's dir but not its row",
          "[supervisor][vm_processes]") {
  bs::cli_test::TempDir dir;
  const auto paths = paths_under(dir.path());
  for (const char* m : {"m1", "m2", "unmanaged"}) bs::cli_test::write_file(paths.boot_config(m), kConfined);
  Child row_vm = fake_vm(paths.boot_config("m1"));
  Child stray = fake_vm(paths.boot_config("m1"));
  Child other = fake_vm(paths.boot_config("unmanaged"));
  Child not_a_vm = Child::exec({"/bin/sh", "-c", "read x", "sh", paths.boot_config("m2")});
  for (const Child* c : {&row_vm, &stray, &other}) {
    REQUIRE(eventually([&] { return has_cmdline(c->pid(), "_boot-vm"); }));
  }
  REQUIRE(eventually([&] { return has_cmdline(not_a_vm.pid(), paths.boot_config("m2")); }));

  VmProcesses procs;
  const std::map<std::string, std::string> managed{{"m1", bs::smolvm::vm_dir_hash("m1")},
                                                   {"m2", bs::smolvm::vm_dir_hash("m2")}};
  for (int pass = 0; pass < 2; ++pass) {  // the second pass reads remembered processes
    INFO("pass " << pass);
    procs.new_tick();
    auto strays = find_strays(managed, paths, {{"m1", row_vm.pid()}}, procs);
    REQUIRE(strays.size() == 1);
    REQUIRE(strays.count("m1") == 1);
    REQUIRE(strays["m1"].size() == 1);
    CHECK(strays["m1"][0].pid == stray.pid());
    auto stat = bs::platform::read_proc_stat(stray.pid());
    REQUIRE(stat);
    CHECK(strays["m1"][0].start_time == stat->start_time);
  }
  CHECK(procs.size() >= 3);  // the three _boot-vm processes

  SECTION("a machine no longer managed has no strays") {
    CHECK(find_strays({{"m2", bs::smolvm::vm_dir_hash("m2")}}, paths, {}, procs).empty());
  }
  SECTION("an exited stray is not reported") {
    stray.release();
    REQUIRE(eventually([&] { return stray.exited_unreaped(); }));
    procs.new_tick();
    CHECK(find_strays(managed, paths, {{"m1", row_vm.pid()}}, procs).empty());
  }
}
