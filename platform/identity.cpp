#include "platform/identity.h"

#include <algorithm>

namespace bs::platform {

Identity classify_identity(const std::optional<ProcStat>& stat, const std::optional<std::string>& cmdline,
                           std::optional<std::uint64_t> expected_start_time, std::string_view cmdline_needle) {
  if (!stat) return Identity::Gone;
  if (stat->state == 'Z') return Identity::Zombie;
  if (stat->state == 'X' || stat->state == 'x') return Identity::Gone;
  if (expected_start_time) return stat->start_time == *expected_start_time ? Identity::Match : Identity::Mismatch;
  if (cmdline_needle.empty()) return Identity::Mismatch;
  if (!cmdline) return Identity::Gone;
  // smolvm compares the command line with NULs read as spaces (cmdline_contains); so do we, so
  // a needle spanning two arguments means the same thing to both.
  std::string joined = *cmdline;
  std::replace(joined.begin(), joined.end(), '\0', ' ');
  return joined.find(cmdline_needle) != std::string::npos ? Identity::Match : Identity::Mismatch;
}

Identity check_identity(std::int64_t pid, std::optional<std::uint64_t> expected_start_time,
                        std::string_view cmdline_needle) {
  if (pid <= 0) return Identity::Gone;
  auto stat = read_proc_stat(pid);
  std::optional<std::string> cmdline;
  if (stat && !expected_start_time) cmdline = read_cmdline(pid);
  return classify_identity(stat, cmdline, expected_start_time, cmdline_needle);
}

}  // namespace bs::platform
