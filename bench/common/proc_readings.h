// What the kernel says about a process we measure: CPU time, context switches, memory.
// Summed over every thread of the process, so a helper thread cannot hide work.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "support/proc.h"

namespace bs::bench {

// Nanoseconds the process has spent on a CPU (/proc/<pid>/task/*/schedstat, first field).
std::optional<std::uint64_t> cpu_ns(int pid);

struct ContextSwitches {
  std::uint64_t voluntary = 0, nonvoluntary = 0;
  std::uint64_t total() const { return voluntary + nonvoluntary; }
};
// voluntary_ctxt_switches + nonvoluntary_ctxt_switches of every thread (/proc/<pid>/task/*/status).
std::optional<ContextSwitches> context_switches(int pid);

// A "Name:   123 kB" field of /proc/<pid>/status (VmHWM, VmRSS, Threads...), in its own unit.
std::optional<std::uint64_t> status_field(int pid, const std::string& name);

// Private_Clean + Private_Dirty + Private_Hugetlb of /proc/<pid>/smaps_rollup, in kB.
using bs::test::private_kb;

}  // namespace bs::bench
