// What /proc says about a process, read by the tests themselves: independent of platform/, whose
// own reading some of them check, and the same in every test folder.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bs::test {

// /proc/<pid>/stat, split after the comm's last ')' (a process may name itself anything).
struct ProcStat {
  char state = '?';              // R, S, D, Z (zombie), X (dead), ...
  std::int64_t ppid = 0;         // field 4
  std::uint64_t cpu_ticks = 0;   // utime + stime (fields 14 and 15), in clock ticks
  std::uint64_t start_time = 0;  // field 22: clock ticks since boot, smolvm's pid_start_time
};
std::optional<ProcStat> proc_stat(std::int64_t pid);  // nullopt: no such process

bool pid_alive(std::int64_t pid);  // exists and is neither a zombie nor dead
std::optional<std::uint64_t> pid_start_time(std::int64_t pid);  // nullopt unless alive

// Live (non-zombie) children of `parent`, per the ppid field.
std::vector<std::int64_t> children_of(std::int64_t parent);

// /proc/<pid>/cmdline with each NUL turned into a space ("" when the process is gone).
std::string proc_cmdline(std::int64_t pid);

// The number after "<name>:" in a /proc file of "Name:   123 kB" lines (status, smaps_rollup), in
// the file's own unit; nullopt when the file or the line is missing.
std::optional<std::uint64_t> proc_field(const std::string& path, const std::string& name);

// Private_Clean + Private_Dirty + Private_Hugetlb of /proc/<pid>/smaps_rollup, in kB: the memory
// the process alone holds. nullopt when it cannot be read.
std::optional<std::uint64_t> private_kb(std::int64_t pid);

// A marker no other process on the machine has in its command line.
std::string unique_marker(const std::string& what);

}  // namespace bs::test
