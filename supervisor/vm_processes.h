// What /proc says about the VM processes the supervisor looks at, read once per process.
//
// A running VM's start time and command line cannot change, and neither can the policy it
// booted with (smolvm's `_boot-vm` reads boot-config.json once, at boot). A pidfd pins each
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

namespace bs::supervisor {

struct VmProcess {
  std::optional<platform::ProcStat> stat;  // nullopt: no such process
  std::optional<std::string> cmdline;      // /proc/<pid>/cmdline, NUL-separated; read when stat was
};

class VmProcesses {
 public:
  // pid's stat and command line: remembered ones while the process lives, else read now, and
  // then remembered when `remember` and the process is alive (not a zombie).
  VmProcess see(std::int64_t pid, bool remember = true);

  // The policy the process booted with: the boot-config.json its command line names. Kept with
  // the remembered process of the same start time; read every time otherwise.
  Policy booted_policy(std::int64_t pid, const VmProcess& seen);

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

  std::map<std::int64_t, Known> known_;
  std::uint64_t tick_ = 1;
  std::uint64_t polled_at_ = 0;  // the tick of the last forget_exited
};

// Reads the booted policy of a process from the boot-config.json named in its command line.
Policy read_booted_policy_of(std::int64_t pid, const std::optional<std::string>& cmdline);

}  // namespace bs::supervisor
