// macOS has no child subreaper (PR_SET_CHILD_SUBREAPER is Linux's): VMs detached by smolvm are
// reparented to launchd, which reaps them. Only our direct children need reaping here.
// Compiled only on Apple hosts.
#include <libproc.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

#include "platform/reaper.h"

namespace bs::platform {
namespace {

std::vector<pid_t> child_pids() {
  const int estimate = proc_listpids(PROC_PPID_ONLY, static_cast<std::uint32_t>(::getpid()), nullptr, 0);
  if (estimate <= 0) return {};
  std::vector<pid_t> pids(static_cast<std::size_t>(estimate) / sizeof(pid_t) + 16);
  const int bytes = proc_listpids(PROC_PPID_ONLY, static_cast<std::uint32_t>(::getpid()), pids.data(),
                                  static_cast<int>(pids.size() * sizeof(pid_t)));
  pids.resize(bytes > 0 ? static_cast<std::size_t>(bytes) / sizeof(pid_t) : 0);
  return pids;
}

}  // namespace

bool become_child_subreaper() { return false; }

std::optional<ChildExit> reap_child(std::int64_t pid) {
  if (pid <= 0) return std::nullopt;
  int status = 0;
  if (::waitpid(static_cast<pid_t>(pid), &status, WNOHANG) != pid) return std::nullopt;
  if (WIFSIGNALED(status)) return ChildExit{true, WTERMSIG(status)};
  if (WIFEXITED(status)) return ChildExit{false, WEXITSTATUS(status)};
  return std::nullopt;
}

void reap_zombie_children(const std::set<std::int64_t>& keep) {
  // waitpid(WNOHANG) on a child that is still running returns 0 and changes nothing, so asking
  // every child is the same as asking only the exited ones.
  for (pid_t pid : child_pids()) {
    if (pid > 0 && keep.count(pid) == 0) reap_child(pid);
  }
}

}  // namespace bs::platform
