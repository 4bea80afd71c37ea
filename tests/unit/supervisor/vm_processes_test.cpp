// VmProcesses (what /proc said about a VM, kept while a pidfd shows it alive), the booted policy
// from the VM's data dir (agent.pid + agent.config.json) and the stray scan built on it. The
// "VMs" are this test binary re-executed exactly as smolvm runs its VM
// (`/proc/self/exe _boot-vm <data dir>/boot-config.json`, see tests/main.cpp); every process
// signalled here is this test's own unreaped child.
#include <catch2/catch.hpp>

#include "smolvm/paths.h"
#include "supervisor/observer.h"
#include "supervisor/vm_processes.h"
#include "support/forked_child.h"
#include "support/poll.h"
#include "unit/supervisor/cli_test_support.h"
#include "unit/supervisor/fake_vm.h"

using bs::Policy;
using bs::supervisor::find_strays;
using bs::supervisor::VmProcesses;
using bs::test::ForkedChild;
using bs::test::poll_until;
using namespace bs::vm_test;  // fake_vm, has_cmdline, smolvm_paths_under

using namespace std::chrono_literals;

namespace {

std::string data_dir_of(const std::string& boot_config) {
  return boot_config.substr(0, boot_config.size() - std::string("/boot-config.json").size());
}

// What smolvm writes right after the spawn: agent.config.json, then agent.pid naming the VM.
void write_agent_files(const std::string& boot_config, pid_t pid, const char* config_json) {
  const std::string dir = data_dir_of(boot_config);
  bs::cli_test::write_file(dir + "/agent.config.json", config_json);
  auto st = bs::platform::read_proc_stat(pid);
  REQUIRE(st);
  bs::cli_test::write_file(dir + "/agent.pid", std::to_string(pid) + "\n" + std::to_string(st->start_time));
}

const char* kConfined = R"({"resources":{"allowed_cidrs":["127.0.0.2/32"]}})";
const char* kOpen = R"({"resources":{"allowed_cidrs":null}})";

}  // namespace

TEST_CASE("VmProcesses keeps a live VM's readings and booted policy, and forgets it when it exits",
          "[supervisor][vm_processes]") {
  bs::cli_test::TempDir dir;
  const auto paths = smolvm_paths_under(dir.path());
  const std::string config = paths.boot_config("m1");
  ForkedChild vm = fake_vm(config);
  REQUIRE(poll_until([&] { return has_cmdline(vm.pid(), "_boot-vm"); }, 10s));
  write_agent_files(config, vm.pid(), kConfined);

  VmProcesses procs;
  auto seen = procs.see(vm.pid());
  REQUIRE(seen.stat);
  REQUIRE(seen.cmdline);
  CHECK(procs.size() == 1);
  Policy booted = procs.booted_policy(vm.pid(), seen).policy;
  REQUIRE(booted.kind == Policy::Kind::List);
  CHECK(booted.str() == R"(["127.0.0.2/32"])");

  SECTION("the policy it booted with stands while it lives, until its data dir is seen to change") {
    bs::cli_test::write_file(data_dir_of(config) + "/agent.config.json", kOpen);
    auto again = procs.see(vm.pid());
    REQUIRE(again.stat);
    CHECK(again.stat->start_time == seen.stat->start_time);
    CHECK(procs.booted_policy(vm.pid(), again).policy.str() == R"(["127.0.0.2/32"])");
    REQUIRE(procs.remembered(vm.pid()) != nullptr);
    procs.forget_booted(vm.pid());
    CHECK(procs.booted_policy(vm.pid(), again).policy.str() == "null (unrestricted)");
  }

  SECTION("an exited VM (a zombie here) is forgotten and read afresh") {
    vm.release();
    REQUIRE(poll_until([&] { return vm.exited_unreaped(); }, 10s));
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
    REQUIRE(poll_until([&] { return vm.exited_unreaped(); }, 10s));
    procs.forget_exited();
    CHECK(procs.size() == 0);
  }
}

TEST_CASE("VmProcesses reads every time what it is not asked to remember", "[supervisor][vm_processes]") {
  bs::cli_test::TempDir dir;
  const std::string config = smolvm_paths_under(dir.path()).boot_config("m1");
  ForkedChild vm = fake_vm(config);
  REQUIRE(poll_until([&] { return has_cmdline(vm.pid(), "_boot-vm"); }, 10s));
  write_agent_files(config, vm.pid(), kConfined);

  VmProcesses procs;
  auto seen = procs.see(vm.pid(), false);
  REQUIRE(seen.stat);
  CHECK(procs.size() == 0);
  CHECK(procs.booted_policy(vm.pid(), seen).policy.str() == R"(["127.0.0.2/32"])");
  bs::cli_test::write_file(data_dir_of(config) + "/agent.config.json", kOpen);
  CHECK(procs.booted_policy(vm.pid(), seen).policy.str() == "null (unrestricted)");
  CHECK_FALSE(procs.see(-1).stat);
}

TEST_CASE("the booted policy counts only while agent.pid names the VM; pending for a young VM, bounded",
          "[supervisor][vm_processes]") {
  bs::cli_test::TempDir dir;
  const std::string config = smolvm_paths_under(dir.path()).boot_config("m1");
  const std::string agent_pid = data_dir_of(config) + "/agent.pid";
  ForkedChild vm = fake_vm(config);
  REQUIRE(poll_until([&] { return has_cmdline(vm.pid(), "_boot-vm"); }, 10s));
  // smolvm's real sequence: the VM deleted boot-config.json, agent.config.json is written, and
  // agent.pid a moment later. A stale agent.config.json of an earlier boot may be there before.
  bs::cli_test::write_file(data_dir_of(config) + "/agent.config.json", kOpen);
  auto seen = bs::supervisor::VmProcess{bs::platform::read_proc_stat(vm.pid()), bs::platform::read_cmdline(vm.pid())};
  REQUIRE(seen.stat);
  // Pending while the VM is young; once the window has closed (the VM aged through the table, not
  // by waiting), unverifiable, saying why.
  auto pending_then_unverifiable = [&](const std::string& why) {
    AgedProcessTable aged;
    CHECK(bs::supervisor::read_booted_policy_of(vm.pid(), seen, aged).policy.kind == Policy::Kind::Pending);
    aged.extra_ms = bs::supervisor::kBootPendingWindowMs;
    auto b = bs::supervisor::read_booted_policy_of(vm.pid(), seen, aged);
    CHECK(b.policy.kind == Policy::Kind::Invalid);
    CHECK_THAT(b.policy.str(), Catch::Contains(why));
  };

  SECTION("no agent.pid yet: pending, with the time left in the window") {
    auto b = bs::supervisor::read_booted_policy_of(vm.pid(), seen);
    CHECK(b.policy.kind == Policy::Kind::Pending);
    CHECK(b.pending_ms > 0);
    CHECK(b.pending_ms <= bs::supervisor::kBootPendingWindowMs);
    CHECK_THAT(b.policy.str(), Catch::Contains("agent.pid"));
  }
  SECTION("agent.pid of another process (an earlier boot): pending, then unverifiable once the window closes") {
    bs::cli_test::write_file(agent_pid, "1\n1");
    pending_then_unverifiable("names pid 1");
  }
  SECTION("agent.pid with this pid but another start time is not this VM") {
    bs::cli_test::write_file(agent_pid, std::to_string(vm.pid()) + "\n" + std::to_string(seen.stat->start_time + 1));
    CHECK(bs::supervisor::read_booted_policy_of(vm.pid(), seen).policy.kind == Policy::Kind::Pending);
  }
  SECTION("agent.pid naming it: agent.config.json is what it booted with") {
    write_agent_files(config, vm.pid(), kConfined);
    CHECK(bs::supervisor::read_booted_policy_of(vm.pid(), seen).policy.str() == R"(["127.0.0.2/32"])");
    bs::cli_test::write_file(agent_pid, std::to_string(vm.pid()));  // no start time: pid alone
    CHECK(bs::supervisor::read_booted_policy_of(vm.pid(), seen).policy.str() == R"(["127.0.0.2/32"])");
  }
  SECTION("agent.pid naming it but no agent.config.json: unverifiable at once") {
    ::unlink((data_dir_of(config) + "/agent.config.json").c_str());
    write_agent_files(config, vm.pid(), kConfined);
    ::unlink((data_dir_of(config) + "/agent.config.json").c_str());
    auto b = bs::supervisor::read_booted_policy_of(vm.pid(), seen);
    CHECK(b.policy.kind == Policy::Kind::Invalid);
    CHECK_THAT(b.policy.str(), Catch::Contains("agent.config.json"));
  }
  SECTION("an empty or malformed agent.pid is pending inside the window (smolvm writes it in place), then unverifiable") {
    // What a reader woken by the file's creation finds before smolvm's write lands.
    bs::cli_test::write_file(agent_pid, "");
    CHECK(bs::supervisor::read_booted_policy_of(vm.pid(), seen).policy.kind == Policy::Kind::Pending);
    bs::cli_test::write_file(agent_pid, "not a pid");
    pending_then_unverifiable("agent.pid");
  }
}

TEST_CASE("find_strays reports VMs naming a managed machine's dir but not referenced, never look-alikes",
          "[supervisor][vm_processes]") {
  bs::cli_test::TempDir dir;
  const auto paths = smolvm_paths_under(dir.path());
  ForkedChild row_vm = fake_vm(paths.boot_config("m1"));
  ForkedChild stray = fake_vm(paths.boot_config("m1"));
  ForkedChild other = fake_vm(paths.boot_config("unmanaged"));
  // Processes that merely mention a VM's words and paths (CONTRACT §6.8): never strays.
  ForkedChild not_a_vm = ForkedChild::exec({"/bin/sh", "-c", "read x", "sh", paths.boot_config("m2")});
  ForkedChild look_alike = ForkedChild::exec({"/bin/sh", "-c", "read x", "_boot-vm", paths.boot_config("m2")});
  ForkedChild grep_like = ForkedChild::exec({"/bin/sh", "-c", "read x; grep _boot-vm " + paths.boot_config("m2")});
  for (const ForkedChild* c : {&row_vm, &stray, &other, &look_alike}) {
    REQUIRE(poll_until([&] { return has_cmdline(c->pid(), "_boot-vm"); }, 10s));
  }
  REQUIRE(poll_until([&] { return has_cmdline(not_a_vm.pid(), paths.boot_config("m2")); }, 10s));
  REQUIRE(poll_until([&] { return has_cmdline(grep_like.pid(), "grep"); }, 10s));

  AgedProcessTable aged;
  VmProcesses procs(aged);
  const std::map<std::string, std::string> managed{{"m1", bs::smolvm::vm_dir_hash("m1")},
                                                   {"m2", bs::smolvm::vm_dir_hash("m2")}};
  // A VM spawned a moment ago may be a start whose agent.pid is not written yet: not a stray
  // until the pending window has passed.
  CHECK(find_strays(managed, paths, {{"m1", {row_vm.pid()}}}, procs).empty());
  aged.extra_ms = bs::supervisor::kBootPendingWindowMs;
  for (int pass = 0; pass < 2; ++pass) {  // the second pass reads remembered processes
    INFO("pass " << pass);
    procs.new_tick();
    auto strays = find_strays(managed, paths, {{"m1", {row_vm.pid()}}}, procs);
    REQUIRE(strays.size() == 1);
    REQUIRE(strays.count("m1") == 1);
    REQUIRE(strays["m1"].size() == 1);
    CHECK(strays["m1"][0].pid == stray.pid());
    auto stat = bs::platform::read_proc_stat(stray.pid());
    REQUIRE(stat);
    CHECK(strays["m1"][0].start_time == stat->start_time);
  }

  SECTION("a machine no longer managed has no strays") {
    CHECK(find_strays({{"m2", bs::smolvm::vm_dir_hash("m2")}}, paths, {}, procs).empty());
  }
  SECTION("an exited stray is not reported") {
    stray.release();
    REQUIRE(poll_until([&] { return stray.exited_unreaped(); }, 10s));
    procs.new_tick();
    CHECK(find_strays(managed, paths, {{"m1", {row_vm.pid()}}}, procs).empty());
  }
}

TEST_CASE("VmProcesses remembers only VMs: any other process may still exec into one", "[supervisor][vm_processes]") {
  // A child forked by `machine start` that has not exec'd `_boot-vm` yet shows its parent's
  // command line; were that remembered, the VM it becomes would go unrecognised while it lives.
  ForkedChild not_yet = ForkedChild::blocked();
  VmProcesses procs;
  auto seen = procs.see(not_yet.pid());
  REQUIRE(seen.stat);
  CHECK(procs.size() == 0);
  CHECK(procs.remembered(not_yet.pid()) == nullptr);
}
