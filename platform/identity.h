// "Is this pid still that VM?" and the only way the supervisor signals a process: after asking.
// The rule is CONTRACT §6 step 4; never signal a pid that fails it, since a recycled pid is
// somebody else's process, and a process whose command line merely mentions a VM's path (an
// editor, grep, watch) is not a VM.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/process.h"

namespace bs::platform {

// What a process's command line must be, argument by argument: argv[0] one of `argv0`, then
// exactly `args` as argv[1], argv[2], ... (more arguments after them are allowed). No partial or
// joined matching: "vim +/_boot-vm <dir>/boot-config.json" is not a VM. A rule with no argv0
// matches nothing.
struct ArgvRule {
  std::vector<std::string> argv0;
  std::vector<std::string> args;

  bool matches(std::string_view nul_separated_cmdline) const;
};

// The arguments of a /proc/<pid>/cmdline (NUL-separated, maybe NUL-terminated).
std::vector<std::string_view> split_cmdline(std::string_view nul_separated_cmdline);

enum class Identity { Match, Gone, Zombie, Mismatch };

// The rule itself, on values already read (pure): the process exists, is not a zombie ('Z') or
// dead ('X'), its start time equals `expected_start_time` when that is set, AND its command line
// satisfies `rule`. Both, not either: a process with the right start time that is not a VM (the
// row names some other process of the user's) is never this VM.
Identity classify_identity(const std::optional<ProcStat>& stat, const std::optional<std::string>& cmdline,
                           std::optional<std::uint64_t> expected_start_time, const ArgvRule& rule);

// The rule applied to the live process `pid`.
Identity check_identity(std::int64_t pid, std::optional<std::uint64_t> expected_start_time, const ArgvRule& rule);

enum class KillOutcome { Killed, Gone, Mismatch, Failed };
struct KillResult {
  KillOutcome outcome;
  std::string message;  // says what happened to which pid, for logs and events
};

// SIGKILL to `pid` if, and only if, it passes check_identity. On Linux a pidfd is opened FIRST
// and the identity checked after, so the pid cannot be recycled between the check and the
// signal, which goes through the pidfd. Without pidfd support (ENOSYS) it falls back to kill(2)
// right after the check. Never signals on Mismatch, Gone or Zombie (a zombie reports Gone: it has
// already exited). Killed means the signal was sent; the process dies asynchronously.
KillResult kill_verified(std::int64_t pid, std::optional<std::uint64_t> expected_start_time, const ArgvRule& rule);

// For test harnesses and benchmarks cleaning up processes they started themselves: SIGKILL to
// `pid` only while its start time is `start_time` (the pid was not recycled). The daemon never
// uses this: it always checks the command line too.
KillResult kill_own_child(std::int64_t pid, std::uint64_t start_time);

}  // namespace bs::platform
