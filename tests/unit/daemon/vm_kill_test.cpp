// The kill path against a fake process table: what is signalled, what is waited for, and what
// each outcome is reported as.
#include <catch2/catch.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "supervisor/vm_kill.h"

using bs::Action;
using bs::KillReason;
using bs::platform::ArgvRule;
using bs::platform::KillOutcome;
using bs::platform::KillResult;
using bs::supervisor::KillReport;
using bs::supervisor::kill_vm;
using bs::supervisor::ProcessControl;

namespace {

// Processes by pid, each with the start time and command line the kernel would show. A kill
// succeeds only for an exact match, as platform::kill_verified does for real.
struct FakeProcesses final : ProcessControl {
  struct Proc {
    std::uint64_t start_time;
    std::vector<std::string> argv;
  };
  std::map<std::int64_t, Proc> procs;
  std::vector<std::int64_t> signalled, waited;
  bool kill_fails = false;

  KillResult kill_verified(std::int64_t pid, std::optional<std::uint64_t> start_time, const ArgvRule& rule) override {
    auto it = procs.find(pid);
    if (it == procs.end()) return {KillOutcome::Gone, "pid " + std::to_string(pid) + " is gone"};
    const bool same_start = !start_time || *start_time == it->second.start_time;
    std::string cmdline;  // as /proc/<pid>/cmdline reads: NUL-separated
    for (const std::string& arg : it->second.argv) cmdline += arg + '\0';
    if (!same_start || !rule.matches(cmdline)) return {KillOutcome::Mismatch, "pid " + std::to_string(pid) + " is another process"};
    if (kill_fails) return {KillOutcome::Failed, "Operation not permitted"};
    signalled.push_back(pid);
    procs.erase(it);
    return {KillOutcome::Killed, "killed"};
  }
  void wait_gone(std::int64_t pid) override { waited.push_back(pid); }
};

const ArgvRule kVmArgv{{"/usr/local/bin/smolvm"}, {"_boot-vm", "/data/vms/abc/boot-config.json"}};

Action kill_of(std::int64_t pid, std::uint64_t start_time, KillReason reason, const std::string& detail) {
  return Action::kill("bottle-a", pid, start_time, reason, detail);
}

FakeProcesses with_vm(std::int64_t pid, std::uint64_t start_time) {
  FakeProcesses p;
  p.procs[pid] = {start_time, {"/usr/local/bin/smolvm", "_boot-vm", "/data/vms/abc/boot-config.json"}};
  return p;
}

}  // namespace

TEST_CASE("kill path: the VM the plan judged is signalled, waited for, and reported as a drift kill",
          "[daemon-unit]") {
  FakeProcesses p = with_vm(4242, 777);
  KillReport r = kill_vm(p, kill_of(4242, 777, KillReason::Drift, "pid 4242 booted with 0.0.0.0/0"), kVmArgv);
  CHECK(r.result == KillReport::Result::Killed);
  CHECK(p.signalled == std::vector<std::int64_t>{4242});
  CHECK(p.waited == std::vector<std::int64_t>{4242});  // gone before the confined restart
  CHECK(r.drift);
  CHECK(r.event_kind == "drift-killed");
  CHECK(r.detail == "pid 4242 booted with 0.0.0.0/0");
}

TEST_CASE("kill path: unverifiable and stray kills are reported as such", "[daemon-unit]") {
  FakeProcesses p = with_vm(10, 1);
  p.procs[11] = p.procs[10];
  KillReport u = kill_vm(p, kill_of(10, 1, KillReason::Unverifiable, "booted policy unreadable"), kVmArgv);
  CHECK(u.event_kind == "drift-killed");
  CHECK(u.detail == "unverifiable: booted policy unreadable");
  CHECK(u.drift);
  KillReport s = kill_vm(p, kill_of(11, 1, KillReason::Stray, "a VM no row names"), kVmArgv);
  CHECK(s.event_kind == "stray-killed");
  CHECK_FALSE(s.drift);  // not counted as a drift kill
}

TEST_CASE("kill path: a recycled pid or another program under the pid is never signalled", "[daemon-unit]") {
  FakeProcesses p = with_vm(4242, 777);
  KillReport recycled = kill_vm(p, kill_of(4242, 776, KillReason::Drift, "d"), kVmArgv);
  CHECK(recycled.result == KillReport::Result::NotThere);
  const ArgvRule other_machine{{"/usr/local/bin/smolvm"}, {"_boot-vm", "/data/vms/other/boot-config.json"}};
  KillReport other = kill_vm(p, kill_of(4242, 777, KillReason::Drift, "d"), other_machine);
  CHECK(other.result == KillReport::Result::NotThere);
  KillReport gone = kill_vm(p, kill_of(99, 777, KillReason::Drift, "d"), kVmArgv);
  CHECK(gone.result == KillReport::Result::NotThere);
  CHECK(p.signalled.empty());
  CHECK(p.waited.empty());
  CHECK(p.procs.count(4242) == 1);
}

TEST_CASE("kill path: a kill that fails is an error naming the pid, with nothing waited for", "[daemon-unit]") {
  FakeProcesses p = with_vm(4242, 777);
  p.kill_fails = true;
  KillReport r = kill_vm(p, kill_of(4242, 777, KillReason::Drift, "d"), kVmArgv);
  CHECK(r.result == KillReport::Result::Failed);
  CHECK(r.detail == "cannot kill pid 4242: Operation not permitted");
  CHECK(p.waited.empty());
}
