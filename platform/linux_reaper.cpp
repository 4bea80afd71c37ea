#include "platform/reaper.h"

#include <dirent.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

namespace bs::platform {

bool become_child_subreaper() { return ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0; }

void reap_child(std::int64_t pid) {
  if (pid <= 0) return;
  int status = 0;
  ::waitpid(static_cast<pid_t>(pid), &status, WNOHANG);
}

void reap_zombie_children(const std::set<std::int64_t>& keep) {
  const std::string self = std::to_string(::getpid());
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir("/proc"), ::closedir);
  if (!d) return;
  while (const dirent* e = ::readdir(d.get())) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || keep.count(pid) != 0) continue;
    std::ifstream in(std::string("/proc/") + e->d_name + "/stat");
    std::string line;
    if (!std::getline(in, line)) continue;
    auto close = line.rfind(')');
    if (close == std::string::npos || close + 4 > line.size()) continue;
    char state = line[close + 2];
    std::string rest = line.substr(close + 4);
    std::string ppid = rest.substr(0, rest.find(' '));
    if (state == 'Z' && ppid == self) reap_child(pid);
  }
}

}  // namespace bs::platform
