#include "supervisor/vm_kill.h"

#include <chrono>
#include <thread>

#include "platform/pidfd.h"
#include "platform/process.h"
#include "platform/reaper.h"

namespace bs::supervisor {
namespace {

constexpr std::chrono::milliseconds kTeardownPatience{100};

}  // namespace

platform::KillResult HostProcesses::kill_verified(std::int64_t pid, std::optional<std::uint64_t> start_time,
                                                  const platform::ArgvRule& rule) {
  return platform::kill_verified(pid, start_time, rule);
}

void HostProcesses::wait_gone(std::int64_t pid) {
  // SIGKILL is delivered at once, but the process is gone only when the kernel has torn it
  // down (well under a millisecond). A pidfd says when, without polling: the wait is bounded by
  // kTeardownPatience, and a VM still there after it is found by the next round's look.
  if (auto fd = platform::PidFd::open(pid)) {
    fd->wait_exited(kTeardownPatience);
    platform::reap_child(pid);
    return;
  }
  // Gone already (no pidfd for it), or no pidfds (macOS): at most 2,000 looks 50 µs apart.
  for (int i = 0; i < 2000; ++i) {
    platform::reap_child(pid);
    auto st = platform::read_proc_stat(pid);
    if (!st || st->state == 'Z' || st->state == 'X') {
      platform::reap_child(pid);
      return;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

KillReport kill_vm(ProcessControl& processes, const Action& a, const platform::ArgvRule& vm_command_line) {
  platform::KillResult r = processes.kill_verified(a.pid, a.start_time, vm_command_line);
  KillReport report;
  switch (r.outcome) {
    case platform::KillOutcome::Killed:
      processes.wait_gone(a.pid);
      report.result = KillReport::Result::Killed;
      report.drift = a.reason != KillReason::Stray;
      report.event_kind = report.drift ? "drift-killed" : "stray-killed";
      report.detail = (a.reason == KillReason::Unverifiable ? "unverifiable: " : "") + a.detail;
      return report;
    case platform::KillOutcome::Gone:
    case platform::KillOutcome::Mismatch:
      report.result = KillReport::Result::NotThere;
      report.detail = r.message;
      return report;
    case platform::KillOutcome::Failed:
      break;
  }
  report.result = KillReport::Result::Failed;
  report.detail = "cannot kill pid " + std::to_string(a.pid) + ": " + r.message;
  return report;
}

}  // namespace bs::supervisor
