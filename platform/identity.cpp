#include "platform/identity.h"

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace bs::platform {

std::vector<std::string_view> split_cmdline(std::string_view cmdline) {
  std::vector<std::string_view> args;
  if (!cmdline.empty() && cmdline.back() == '\0') cmdline.remove_suffix(1);
  if (cmdline.empty()) return args;
  for (;;) {
    auto nul = cmdline.find('\0');
    args.push_back(cmdline.substr(0, nul));
    if (nul == std::string_view::npos) break;
    cmdline.remove_prefix(nul + 1);
  }
  return args;
}

bool ArgvRule::matches(std::string_view cmdline) const {
  const auto argv = split_cmdline(cmdline);
  if (argv.size() < 1 + args.size()) return false;
  if (std::find(argv0.begin(), argv0.end(), argv[0]) == argv0.end()) return false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (argv[i + 1] != args[i]) return false;
  }
  return true;
}

Identity classify_identity(const std::optional<ProcStat>& stat, const std::optional<std::string>& cmdline,
                           std::optional<std::uint64_t> expected_start_time, const ArgvRule& rule) {
  if (!stat) return Identity::Gone;
  if (stat->state == 'Z') return Identity::Zombie;
  if (stat->state == 'X' || stat->state == 'x') return Identity::Gone;
  if (expected_start_time && stat->start_time != *expected_start_time) return Identity::Mismatch;
  if (!cmdline) return Identity::Gone;
  return rule.matches(*cmdline) ? Identity::Match : Identity::Mismatch;
}

Identity check_identity(std::int64_t pid, std::optional<std::uint64_t> expected_start_time, const ArgvRule& rule) {
  if (pid <= 0) return Identity::Gone;
  auto stat = read_proc_stat(pid);
  std::optional<std::string> cmdline;
  if (stat) cmdline = read_cmdline(pid);
  return classify_identity(stat, cmdline, expected_start_time, rule);
}

KillResult kill_own_child(std::int64_t pid, std::uint64_t start_time) {
  const std::string who = "pid " + std::to_string(pid);
  if (pid <= 0) return {KillOutcome::Gone, who + " is not a process"};
  auto stat = read_proc_stat(pid);
  if (!stat || stat->state == 'Z' || stat->state == 'X' || stat->state == 'x') {
    return {KillOutcome::Gone, who + " has exited"};
  }
  if (stat->start_time != start_time) return {KillOutcome::Mismatch, who + " was recycled; not signalled"};
  if (::kill(static_cast<pid_t>(pid), SIGKILL) == 0) return {KillOutcome::Killed, "killed " + who};
  if (errno == ESRCH) return {KillOutcome::Gone, who + " has exited"};
  return {KillOutcome::Failed, "cannot kill " + who + ": " + std::strerror(errno)};
}

}  // namespace bs::platform
