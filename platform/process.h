// Process identity as the OS reports it (/proc on Linux): who a pid is, what it runs, and when
// it started. Everything here is a snapshot; a pid can exit or be reused right after a read,
// which is why identity.h re-checks before it signals.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bs::platform {

struct ProcStat {
  std::int64_t pid = 0;
  char state = '?';              // R, S, D, Z (zombie), X (dead), ...
  std::uint64_t start_time = 0;  // field 22: clock ticks since boot (smolvm's pid_start_time)
  std::string comm;
};

// Parses one /proc/<pid>/stat line. Pure. comm may hold spaces and ')' (a process names itself),
// so the fields are split after the LAST ')'. nullopt when the line is malformed.
std::optional<ProcStat> parse_proc_stat(std::string_view stat_line);

std::optional<ProcStat> read_proc_stat(std::int64_t pid);  // nullopt: no such process
// The raw command line, arguments separated (and ended) by NUL; "" for a zombie or kernel
// thread; nullopt when the process is gone.
std::optional<std::string> read_cmdline(std::int64_t pid);
std::vector<std::int64_t> list_pids();  // every process visible to us, ascending

bool process_alive(std::int64_t pid);  // exists and is neither a zombie nor dead

// How long ago a process with this start time (ProcStat::start_time: clock ticks since boot on
// Linux, microseconds since the epoch on macOS) started, in ms; nullopt if the clock cannot be read.
std::optional<std::int64_t> process_age_ms(std::uint64_t start_time);

struct ProcessInfo {
  std::int64_t pid = 0;
  std::uint64_t start_time = 0;
  std::string cmdline;  // NULs turned into spaces, without the trailing one
};

// Every process whose command line (as in ProcessInfo::cmdline) contains `needle`: stray
// `_boot-vm`s naming a machine's data dir, or another `smolvm serve` for `preflight`. An empty
// needle matches nothing.
std::vector<ProcessInfo> processes_with_cmdline_containing(std::string_view needle);

}  // namespace bs::platform
