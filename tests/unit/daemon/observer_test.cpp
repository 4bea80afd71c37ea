// The observer against a made-up /proc (ProcessTable): which process is a machine's VM, what it
// booted with, when a young VM stops being "pending", and which processes are strays, with pids,
// command lines and ages chosen by the test. Only agent.pid and agent.config.json are real files.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "smolvm/paths.h"
#include "supervisor/observer.h"
#include "supervisor/process_table.h"
#include "supervisor/vm_processes.h"
#include "support/temp_dir.h"
#include "unit/supervisor/fake_vm.h"

using bs::Policy;
using bs::supervisor::find_strays;
using bs::supervisor::kBootPendingWindowMs;
using bs::supervisor::observe_machine;
using bs::supervisor::RowSnapshot;
using bs::supervisor::VmProcesses;

namespace {

// Processes by pid: what /proc would say of each, and its age.
struct MadeUpProcesses final : bs::supervisor::ProcessTable {
  struct Proc {
    std::uint64_t start_time;
    std::string cmdline;  // NUL-separated, as /proc/<pid>/cmdline
    std::int64_t age_ms;
    char state = 'S';
  };
  std::map<std::int64_t, Proc> procs;

  void add(std::int64_t pid, std::uint64_t start_time, const std::vector<std::string>& argv, std::int64_t age_ms) {
    std::string cmdline;
    for (const std::string& a : argv) cmdline += a + '\0';
    procs[pid] = Proc{start_time, cmdline, age_ms};
  }
  std::optional<bs::platform::ProcStat> stat(std::int64_t pid) override {
    auto it = procs.find(pid);
    if (it == procs.end()) return std::nullopt;
    return bs::platform::ProcStat{pid, it->second.state, it->second.start_time, "smol-vmm"};
  }
  std::optional<std::string> cmdline(std::int64_t pid) override {
    auto it = procs.find(pid);
    return it == procs.end() ? std::nullopt : std::optional<std::string>(it->second.cmdline);
  }
  std::vector<std::int64_t> pids() override {
    std::vector<std::int64_t> out;
    for (const auto& [pid, _] : procs) out.push_back(pid);
    return out;
  }
  std::optional<std::int64_t> age_ms(std::uint64_t start_time) override {
    for (const auto& [_, p] : procs) {
      if (p.start_time == start_time) return p.age_ms;
    }
    return std::nullopt;
  }
  std::optional<bs::platform::PidFd> pin(std::int64_t) override { return std::nullopt; }  // nothing remembered
};

struct Machines {
  bs::test::TempDir dir{"bs-observer-test"};
  bs::smolvm::Paths paths = [this] {
    bs::smolvm::Paths p;
    p.vms_dir = dir.path() + "/vms";
    p.vm_argv0 = {"/usr/lib/smol/smol-vmm"};
    return p;
  }();
  MadeUpProcesses table;
  VmProcesses procs{table};

  // A VM of `machine` as smolvm runs it: the exact command line naming its data dir.
  void vm(std::int64_t pid, std::uint64_t start_time, const std::string& machine, std::int64_t age_ms) {
    table.add(pid, start_time, {"/usr/lib/smol/smol-vmm", "_boot-vm", paths.boot_config(machine)}, age_ms);
  }
  // What smolvm writes after the spawn: the policy the VMM got, and agent.pid naming the VM.
  void agent_files(const std::string& machine, std::int64_t pid, std::uint64_t start_time, const char* cidrs_json) {
    const std::string data = paths.vm_data_dir(machine);
    std::filesystem::create_directories(data);
    std::ofstream(data + "/agent.config.json") << R"({"resources":{"allowed_cidrs":)" << cidrs_json << "}}";
    std::ofstream(data + "/agent.pid") << pid << "\n" << start_time;
  }
  RowSnapshot row_naming(const std::string& machine, std::optional<std::int64_t> pid) const {
    return bs::vm_test::snapshot_with_pid(machine, pid);
  }
};

}  // namespace

TEST_CASE("observer: the row's pid is the machine's VM only with smolvm's exact command line, and it booted with "
          "what agent.pid ties to it", "[daemon-unit]") {
  Machines w;
  w.vm(500, 7000, "m1", 60'000);
  w.agent_files("m1", 500, 7000, R"(["127.0.0.16/32"])");
  auto obs = observe_machine("m1", w.row_naming("m1", 500), w.paths, std::nullopt, w.procs);
  REQUIRE(obs.vm);
  CHECK(obs.vm->pid == 500);
  CHECK(obs.vm->start_time == 7000);
  CHECK(obs.vm->booted.str() == R"(["127.0.0.16/32"])");

  SECTION("another machine's VM under the row's pid is not this machine's") {
    w.vm(500, 7000, "m2", 60'000);
    auto other = observe_machine("m1", w.row_naming("m1", 500), w.paths, std::nullopt, w.procs);
    CHECK_FALSE(other.vm);
    REQUIRE(other.pid_note);
  }
  SECTION("a process that merely mentions the VM's words is not a VM") {
    w.table.add(500, 7000, {"/bin/grep", "_boot-vm", w.paths.boot_config("m1")}, 60'000);
    CHECK_FALSE(observe_machine("m1", w.row_naming("m1", 500), w.paths, std::nullopt, w.procs).vm);
  }
  SECTION("a verified pid now with another start time is another process: the VM is the one agent.pid names") {
    const bs::Verified verified{500, 6999, {}};
    auto recycled = observe_machine("m1", w.row_naming("m1", std::nullopt), w.paths, verified, w.procs);
    REQUIRE(recycled.vm);
    CHECK(recycled.vm->start_time == 7000);
    CHECK_FALSE(recycled.superseded);
  }
}

TEST_CASE("observer: a VM agent.pid does not name is pending inside the boot window, unverifiable after it",
          "[daemon-unit]") {
  Machines w;
  w.agent_files("m1", 1, 1, R"(null)");  // agent.pid of an earlier boot, an unrestricted policy
  w.vm(500, 7000, "m1", 1'000);
  auto young = observe_machine("m1", w.row_naming("m1", 500), w.paths, std::nullopt, w.procs);
  REQUIRE(young.vm);
  CHECK(young.vm->booted.kind == Policy::Kind::Pending);
  CHECK(young.vm->pending_ms == kBootPendingWindowMs - 1'000);  // looked at again when the window closes

  w.table.procs[500].age_ms = kBootPendingWindowMs;
  auto old = observe_machine("m1", w.row_naming("m1", 500), w.paths, std::nullopt, w.procs);
  REQUIRE(old.vm);
  CHECK(old.vm->booted.kind == Policy::Kind::Invalid);  // unverifiable: killed, never trusted
  CHECK(old.vm->booted.str().find("names pid 1") != std::string::npos);
}

TEST_CASE("observer: a stray is an unreferenced VM of a managed machine older than the boot window, nothing else",
          "[daemon-unit]") {
  Machines w;
  w.vm(500, 7000, "m1", 60'000);     // the row's VM
  w.vm(501, 7001, "m1", 60'000);     // a second VM of m1 nobody references: the stray
  w.vm(502, 7002, "m1", 100);        // spawned a moment ago: maybe a start whose agent.pid comes next
  w.vm(503, 7003, "other", 60'000);  // a VM of a machine not managed
  w.table.add(504, 7004, {"/bin/sh", "-c", "read x", "_boot-vm", w.paths.boot_config("m1")}, 60'000);  // a look-alike
  w.table.add(505, 7005, {"/usr/bin/vi", w.paths.boot_config("m1")}, 60'000);
  const std::map<std::string, std::string> managed{{"m1", bs::smolvm::vm_dir_hash("m1")}};

  auto strays = find_strays(managed, w.paths, {{"m1", {500}}}, w.procs);
  REQUIRE(strays.size() == 1);
  REQUIRE(strays["m1"].size() == 1);
  CHECK(strays["m1"][0].pid == 501);
  CHECK(strays["m1"][0].start_time == 7001);

  w.table.procs[502].age_ms = kBootPendingWindowMs;  // nobody claimed it within the window
  w.procs.new_tick();
  CHECK(find_strays(managed, w.paths, {{"m1", {500}}}, w.procs)["m1"].size() == 2);
  w.table.procs[501].state = 'Z';  // exited (a zombie of ours): not a stray any more
  w.procs.new_tick();
  CHECK(find_strays(managed, w.paths, {{"m1", {500}}}, w.procs)["m1"].size() == 1);
}
