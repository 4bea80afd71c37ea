// "Is this pid still that VM?" and the only way the supervisor signals a process: after asking.
// The rule is CONTRACT §6 step 4; never signal a pid that fails it, since a recycled pid is
// somebody else's process.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "platform/process.h"

namespace bs::platform {

enum class Identity { Match, Gone, Zombie, Mismatch };

// The rule itself, on values already read (pure): the process exists, is not a zombie ('Z') or
// dead ('X'), and either its start time equals `expected_start_time`, or that is nullopt and the
// command line (NUL-separated, as read) contains `cmdline_needle` (the machine's
// boot-config.json path). An empty needle matches nothing: with neither a start time nor a
// command line to compare, identity cannot be confirmed.
Identity classify_identity(const std::optional<ProcStat>& stat, const std::optional<std::string>& cmdline,
                           std::optional<std::uint64_t> expected_start_time, std::string_view cmdline_needle);

// The rule applied to the live process `pid`.
Identity check_identity(std::int64_t pid, std::optional<std::uint64_t> expected_start_time,
                        std::string_view cmdline_needle);

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
KillResult kill_verified(std::int64_t pid, std::optional<std::uint64_t> expected_start_time,
                         std::string_view cmdline_needle);

}  // namespace bs::platform
