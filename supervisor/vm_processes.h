// What /proc says about the VM processes the supervisor looks at, read once per process.
//
// A running VM's start time and command line cannot change, and neither can the policy it
// booted with (smolvm hands the VMM its policy once, at boot; agent.config.json records it). A pidfd pins each
// process remembered here: while it shows the process alive, the pid still names that very
// process, so the readings stand. A pass over 1,000 running VMs then costs one poll(2) per VM
// instead of two /proc reads, a file read and a JSON parse (about 100 µs on the 2-core machine
// BENCHMARKS.md describes). Without pidfds (macOS) nothing is remembered and every look reads.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "platform/pidfd.h"
#include "platform/process.h"
#include "reconcile/world.h"
#include "supervisor/process_table.h"

namespace bs::supervisor {

// How long a VM may run before agent.pid names it: smolvm writes agent.config.json and agent.pid
// right after the spawn (microseconds to milliseconds later), so this only covers a loaded host.
inline constexpr std::int64_t kBootPendingWindowMs = 3000;

struct BootedPolicy {
  Policy policy;
  std::int64_t pending_ms = 0;  // policy is Pending: how long until the window closes
};

struct VmProcess {
  std::optional<platform::ProcStat> stat;  // nullopt: no such process
  std::optional<std::string> cmdline;      // /proc/<pid>/cmdline, NUL-separated; read when stat was
};

class VmProcesses {
 public:
  explicit VmProcesses(ProcessTable& table = host_process_table()) : table_(table) {}
  ProcessTable& table() { return table_; }

  // pid's stat and command line: remembered ones while the process lives, else read now, and
  // then remembered when `remember` and the process is alive (not a zombie).
  VmProcess see(std::int64_t pid, bool remember = true);

  // The policy the process booted with (read_booted_policy_of). Kept with the remembered process
  // of the same start time once known; a pending answer is never kept.
  BootedPolicy booted_policy(std::int64_t pid, const VmProcess& seen);

  // Forgets what pid booted with (its data dir's agent files changed): read again next time.
  void forget_booted(std::int64_t pid);
  // The same for every remembered process whose command line names a file in `data_dir`.
  void forget_booted_in(const std::string& data_dir);

  // The readings of pid when it is remembered and still alive, else nullptr (then read them).
  const VmProcess* remembered(std::int64_t pid);

  // Forgets pid at once: we killed it, or saw it exit, within this tick.
  void forget(std::int64_t pid) { known_.erase(pid); }

  // Forgets every process that has exited, closing its pidfd; the others are alive for the rest
  // of this tick. One poll(2) for all (done by the first question of a tick anyway).
  void forget_exited();

  // A new loop iteration. Within one, a process found alive is not polled again: the passes of
  // one iteration (the resync's drift check, then each bottle's step) share the answer. A VM
  // that dies meanwhile wakes its exit watch, handled in the next iteration.
  void new_tick() { ++tick_; }

  std::size_t size() const { return known_.size(); }

 private:
  struct Known {
    platform::PidFd pidfd;
    VmProcess process;
    std::optional<Policy> booted;
    std::uint64_t alive_at = 0;  // the tick it was last found alive in
  };
  // The entry of pid if its process is still alive; an exited one is forgotten on the way.
  Known* alive(std::int64_t pid);

  ProcessTable& table_;
  std::map<std::int64_t, Known> known_;
  std::uint64_t tick_ = 1;
  std::uint64_t polled_at_ = 0;  // the tick of the last forget_exited
};

// The policy `pid` booted with: resources.allowed_cidrs of agent.config.json in the data dir its
// command line names (argv[2]'s folder), which counts only while that dir's agent.pid names this
// very process (pid and start time). A VM younger than kBootPendingWindowMs that agent.pid does
// not name yet is Pending; an older one is Invalid (unverifiable).
BootedPolicy read_booted_policy_of(std::int64_t pid, const VmProcess& seen, ProcessTable& table = host_process_table());

}  // namespace bs::supervisor
